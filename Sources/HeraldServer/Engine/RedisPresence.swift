import HeraldCore
import HeraldPublisher
import HeraldRedis
import NIOConcurrencyHelpers
import NIOCore

/// This node's share of cluster-wide presence in Redis (docs/REDIS.md, "Presence").
///
/// Each start of a node is a run with a name of its own. Once a second (with the heartbeat) the
/// run writes the presence entries that changed since the last beat, in pipelined batches — a
/// connect storm costs a few commands per user and channel per second, not per connection —
/// renews its score in `runs`, and lists every entry it wrote in its index. Readers count only
/// runs whose score is current, so a node killed with -9 stops counting within the heartbeat's
/// time to live; a live node later removes a dead run's entries through its index.
final class RedisPresence: Sendable {
    let run: String
    private let client: any RedisCommandExecutor
    private let keys: RedisKeys
    /// Set when Redis did not know this run (it lost its data, or a live node took the run for
    /// dead and removed its entries): the next beat writes everything again.
    private let rewrite = NIOLockedValueBox(true)
    private let beats = NIOLockedValueBox(0)
    /// A beat's entry writes while they are in flight (nil once answered or failed).
    private let writes = NIOLockedValueBox<EventLoopFuture<Void>?>(nil)

    /// How long a run may miss its heartbeat before a live node removes its entries.
    static let deadAfterMilliseconds = 30_000

    init(client: any RedisCommandExecutor, keys: RedisKeys) {
        self.client = client
        self.keys = keys
        var generator = SystemRandomNumberGenerator()
        run = (0..<2).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
    }

    /// One beat: the run's score (`expiry`, Unix ms), then the entries that changed; every few
    /// beats, a dead run's entries removed. `registered`: false once the node has left (draining),
    /// when entries are still removed but the run is not renewed.
    ///
    /// The entries go ``RedisEngine/commandsBatch`` commands at a time, each batch once the one
    /// before is answered (a connect storm of 10,000 users is 40,000 commands, which built and sent
    /// at once would raise the node's memory for good). A beat that finds the last one's batches
    /// still in flight leaves its changes for the next: two beats' writes never interleave, so an
    /// older count cannot land after a newer one. A failed batch puts back every change of its beat
    /// (writing an entry again is harmless), and the next beat writes them again.
    func beat(_ sink: any MessageSink, expiry: Int, registered: Bool, on loop: any EventLoop) {
        let round = beats.withLockedValue {
            $0 += 1
            return $0
        }
        if round % 5 == 0 { removeDeadRuns() }
        let writing = writes.withLockedValue { $0 != nil }
        let everything =
            writing
            ? false
            : rewrite.withLockedValue { value in
                defer { value = false }
                return value
            }
        if registered {
            client.send(["ZADD", RedisArgument(keys.runs), RedisArgument(expiry), RedisArgument(run)]).whenSuccess {
                [rewrite] reply in
                // The run was new to Redis after its first beat: its entries are gone too.
                if !everything, reply.int == 1 { rewrite.withLockedValue { $0 = true } }
            }
        }
        guard !writing else { return }
        let changes = sink.takePresenceChanges(everything: everything)
        let commands = writes(changes)
        let written = RedisEngine.inBatches(commands[...], on: loop) { [client] batch in
            client.send(batch: Array(batch)).map { _ in () }
        }
        writes.withLockedValue { $0 = written }
        written.whenComplete { [writes] result in
            if case .failure = result { sink.restorePresenceChanges(changes) }
            writes.withLockedValue { $0 = nil }
        }
    }

    /// The commands that bring Redis to `changes`: entries set or removed, and listed in the index.
    func writes(_ changes: PresenceChanges) -> [[RedisArgument]] {
        let index = RedisArgument(keys.runPresence(run))
        var commands: [[RedisArgument]] = []
        commands.reserveCapacity(2 * (changes.users.count + changes.channels.count))
        for (user, connections) in changes.users {
            let key = RedisArgument(keys.userPresence(user))
            let member = RedisArgument(Self.userMember(user))
            if connections > 0 {
                commands.append(["HSET", key, RedisArgument(run), RedisArgument(connections)])
                commands.append(["SADD", index, member])
            } else {
                commands.append(["HDEL", key, RedisArgument(run)])
                commands.append(["SREM", index, member])
            }
        }
        for (channel, user, connections) in changes.channels {
            let key = RedisArgument(keys.presence(channel))
            let field = RedisArgument("\(run) \(user)")
            let member = RedisArgument(Self.channelMember(channel, user))
            if connections > 0 {
                commands.append(["HSET", key, field, RedisArgument(connections)])
                commands.append(["SADD", index, member])
            } else {
                commands.append(["HDEL", key, field])
                commands.append(["SREM", index, member])
            }
        }
        return commands
    }

    /// Removes every entry of this run (the node is stopping).
    ///
    /// Waits for a beat's writes still in flight first: a batch sent after the removal would leave
    /// entries that no run lists any more, so no live node would ever remove them.
    func removeOwn() -> EventLoopFuture<Void> {
        guard let pending = writes.withLockedValue({ $0 }) else { return removeRun() }
        return pending.flatMapError { _ in pending.eventLoop.makeSucceededVoidFuture() }.flatMap { [self] in
            removeRun()
        }
    }

    private func removeRun() -> EventLoopFuture<Void> {
        client.send(["ZREM", RedisArgument(keys.runs), RedisArgument(run)]).flatMap { [self] _ in remove(run) }
    }

    /// Runs whose score is long past are taken over, one node each (the one whose `ZREM` removed
    /// it), and their entries removed.
    private func removeDeadRuns() {
        let before = Int(UnixClock.milliseconds()) - Self.deadAfterMilliseconds
        let dead = client.send([
            "ZRANGEBYSCORE", RedisArgument(keys.runs), "-inf", RedisArgument(before), "LIMIT", 0, 8,
        ])
        dead.whenSuccess { [self] reply in
            for run in (reply.array ?? []).compactMap(\.string) where run != self.run {
                client.send(["ZREM", RedisArgument(keys.runs), RedisArgument(run)]).whenSuccess { [self] removed in
                    if removed.int == 1 { _ = remove(run) }
                }
            }
        }
    }

    /// Removes the entries `run`'s index lists, then the index.
    private func remove(_ run: String) -> EventLoopFuture<Void> {
        let index = RedisArgument(keys.runPresence(run))
        return client.send(["SMEMBERS", index]).flatMap { [client, keys] reply in
            var commands: [[RedisArgument]] = (reply.array ?? []).compactMap(\.string).compactMap { member in
                switch Self.entry(of: member) {
                case .user(let user)?: ["HDEL", RedisArgument(keys.userPresence(user)), RedisArgument(run)]
                case .channel(let channel, let user)?:
                    ["HDEL", RedisArgument(keys.presence(channel)), RedisArgument("\(run) \(user)")]
                case nil: nil
                }
            }
            commands.append(["DEL", index])
            return client.send(batch: commands).map { _ in () }
        }
    }

    // Index members: `u<user>`, or `c<channel>\n<user>` (a channel id never holds a line break).

    enum Entry: Equatable {
        case user(String)
        case channel(String, user: String)
    }

    static func userMember(_ user: String) -> String { "u" + user }
    static func channelMember(_ channel: String, _ user: String) -> String { "c" + channel + "\n" + user }

    static func entry(of member: String) -> Entry? {
        switch member.first {
        case "u": return .user(String(member.dropFirst()))
        case "c":
            let rest = member.dropFirst()
            guard let newline = rest.firstIndex(of: "\n") else { return nil }
            return .channel(String(rest[..<newline]), user: String(rest[rest.index(after: newline)...]))
        default: return nil
        }
    }
}
