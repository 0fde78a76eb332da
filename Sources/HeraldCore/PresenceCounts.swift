/// Who is online on one node: the connections of each user, and of each user on each channel.
///
/// A connection counts once for its user however many channels it joined, and once on each of
/// its channels. When asked to (a cluster engine sharing presence), it also remembers what
/// changed since the last ``takeChanges()``, so the engine writes only that, in one batch.
public struct PresenceCounts: Sendable {
    /// Connections per user.
    public private(set) var users: [String: Int] = [:]
    /// Per channel, connections per user.
    public private(set) var channels: [String: [String: Int]] = [:]
    private let tracksChanges: Bool
    private var changedUsers: Set<String> = []
    private var changedChannels: [String: Set<String>] = [:]

    public init(tracksChanges: Bool) {
        self.tracksChanges = tracksChanges
    }

    /// A connection of `user` joined `joined` (a new connection when `newConnection`).
    public mutating func joined(_ user: String, channels joined: some Sequence<String>, newConnection: Bool) {
        if newConnection { change(user, by: 1) }
        for channel in joined { change(user, on: channel, by: 1) }
    }

    /// A connection of `user` left `left`; `connectionEnded` when it is gone altogether.
    public mutating func left(_ user: String, channels left: some Sequence<String>, connectionEnded: Bool) {
        for channel in left { change(user, on: channel, by: -1) }
        if connectionEnded { change(user, by: -1) }
    }

    /// Connections of `user` on `channel` (every channel when nil).
    public func connections(of user: String, on channel: String? = nil) -> Int {
        guard let channel else { return users[user] ?? 0 }
        return channels[channel]?[user] ?? 0
    }

    /// What changed since the last call, with the counts as they are now (0: gone), and forgets it.
    public mutating func takeChanges() -> PresenceChanges {
        let changes = PresenceChanges(
            users: changedUsers.map { ($0, users[$0] ?? 0) },
            channels: changedChannels.flatMap { channel, users in
                users.map { (channel, $0, self.channels[channel]?[$0] ?? 0) }
            })
        changedUsers = []
        changedChannels = [:]
        return changes
    }

    /// Everything there is, as changes (for writing it all again).
    public func everything() -> PresenceChanges {
        PresenceChanges(
            users: users.map { ($0.key, $0.value) },
            channels: channels.flatMap { channel, users in users.map { (channel, $0.key, $0.value) } })
    }

    /// Marks `changes` as changed again (writing them failed); their counts are read anew.
    public mutating func restore(_ changes: PresenceChanges) {
        guard tracksChanges else { return }
        for (user, _) in changes.users { changedUsers.insert(user) }
        for (channel, user, _) in changes.channels { changedChannels[channel, default: []].insert(user) }
    }

    private mutating func change(_ user: String, by delta: Int) {
        let count = max(0, (users[user] ?? 0) + delta)
        users[user] = count == 0 ? nil : count
        if tracksChanges { changedUsers.insert(user) }
    }

    private mutating func change(_ user: String, on channel: String, by delta: Int) {
        var onChannel = channels[channel] ?? [:]
        let count = max(0, (onChannel[user] ?? 0) + delta)
        onChannel[user] = count == 0 ? nil : count
        channels[channel] = onChannel.isEmpty ? nil : onChannel
        if tracksChanges { changedChannels[channel, default: []].insert(user) }
    }
}

/// Presence entries to write: users' connection counts, and users' counts per channel.
public struct PresenceChanges: Sendable {
    public var users: [(user: String, connections: Int)]
    public var channels: [(channel: String, user: String, connections: Int)]

    public init(
        users: [(user: String, connections: Int)] = [],
        channels: [(channel: String, user: String, connections: Int)] = []
    ) {
        self.users = users
        self.channels = channels
    }

    public var isEmpty: Bool { users.isEmpty && channels.isEmpty }
}
