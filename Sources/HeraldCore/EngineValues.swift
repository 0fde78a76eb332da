/// A message to publish into one or more channels.
public struct PublishRequest: Sendable {
    public var channels: [String]
    public var text: [UInt8]
    public var eventID: String?
    public var eventType: String?
    /// Append to the backlog as well as broadcast.
    public var store: Bool
    /// The publisher's answer shows channel info: read it in the same step as the publish.
    public var channelInfo: Bool
    /// The publisher's `Idempotency-Key`: a publish with a key seen on a channel within the
    /// engine's window answers as the first did, and is neither stored nor sent again.
    public var idempotencyKey: String?

    public init(
        channels: [String], text: [UInt8], eventID: String? = nil, eventType: String? = nil, store: Bool,
        channelInfo: Bool = false, idempotencyKey: String? = nil
    ) {
        self.channels = channels
        self.text = text
        self.eventID = eventID
        self.eventType = eventType
        self.store = store
        self.channelInfo = channelInfo
        self.idempotencyKey = idempotencyKey
    }
}

/// What a publish did to one channel: the message it assigned and, when asked for (or free), the
/// channel's record right after it.
public struct Publication: Sendable {
    public var message: Message
    public var record: ChannelRecord?

    public init(message: Message, record: ChannelRecord?) {
        self.message = message
        self.record = record
    }
}

/// One channel's stored messages (oldest first), read together with where the channel stands.
public struct ChannelBacklog: Sendable {
    /// The stored, unexpired messages of the current generation, ids increasing.
    public var messages: [Message]
    /// The channel's last message (stored or not); ``StreamPoint/start(of:)`` when it has none.
    public var last: StreamPoint
    /// Whether the channel exists at all.
    public var exists: Bool
    /// The point right before the first stored message (all of `last` when nothing is stored):
    /// what a subscriber must have reached to have missed nothing the backlog no longer holds.
    public var floor: StreamPoint
    /// Where a subscriber must stand to have missed none of the messages Redis lost after
    /// acknowledging them (a failover before they reached the replica), as a node that had
    /// delivered them recorded (``StreamPoint/init(fence:generation:)``); nil when nothing was lost.
    /// A resume point before it gets the gap notice, whatever the backlog holds.
    public var fence: StreamPoint?

    /// - Parameters:
    ///   - previous: the time and tag of the message right before the first stored one, when the
    ///     engine knows them. When it does not (messages stored by an older version), they are
    ///     inferred from the first stored message: exactly when its tag is above 1, otherwise as
    ///     "some time in the second before", which errs towards reporting a gap.
    public init(messages: [Message], last: StreamPoint, exists: Bool, previous: (time: Int64, tag: Int64)? = nil) {
        self.messages = messages
        self.last = last
        self.exists = exists
        guard let first = messages.first else {
            floor = last
            return
        }
        if first.id <= 1 {
            floor = .start(of: last.generation)
        } else if let previous {
            floor = StreamPoint(id: first.id - 1, generation: last.generation, time: previous.time, tag: previous.tag)
        } else if first.tag > 1 {
            floor = StreamPoint(id: first.id - 1, generation: last.generation, time: first.time, tag: first.tag - 1)
        } else {
            floor = StreamPoint(id: first.id - 1, generation: last.generation, time: first.time - 1, tag: Int64.max)
        }
    }

    /// The channel's last assigned id.
    public var lastID: Int64 { last.id }
    /// The channel's current generation (0: unknown, or the channel does not exist).
    public var generation: Int64 { last.generation }

    /// Whether ids up to `delivered` now name messages published after it: Redis lost messages
    /// it had acknowledged and handed their ids out again (a failover before replication, noticed
    /// only once publishes went on). Ids and times rise together within a generation, so a message
    /// with an id at most `delivered.id` but a later time and tag is another message.
    public func reusesIDs(upTo delivered: StreamPoint) -> Bool {
        guard delivered.generation != 0, generation == delivered.generation else { return false }
        func later(_ point: StreamPoint) -> Bool {
            point.id > 0 && point.id <= delivered.id && delivered.precedes(time: point.time, tag: point.tag)
        }
        return later(last) || messages.contains { later($0.point) }
    }

    /// Whether this backlog no longer holds what a node delivered up to `delivered`, of the same
    /// generation, and no fence records it yet (Redis's fence script): the node must fence it so
    /// the lost ids are not handed out again and subscribers from before are told.
    public func needsFence(after delivered: StreamPoint) -> Bool {
        guard exists, delivered.id > 0, delivered.generation != 0, generation == delivered.generation else {
            return false
        }
        if let fence, fence.id >= delivered.id, !fence.precedes(time: delivered.time, tag: delivered.tag) {
            return false
        }
        return last.id < delivered.id || reusesIDs(upTo: delivered)
    }

    /// A channel that does not exist.
    public static let missing = ChannelBacklog(
        messages: [], last: .start(of: 0), exists: false)
}

/// What the engine knows of a channel, without subscriber counts (the registry has those).
public struct ChannelRecord: Sendable, Hashable {
    public var channel: String
    public var lastID: Int64
    public var storedMessages: Int
    /// Subscribers across the cluster, when the engine knows them (nil: count this node's).
    public var subscribers: Int?

    public init(channel: String, lastID: Int64, storedMessages: Int, subscribers: Int? = nil) {
        self.channel = channel
        self.lastID = lastID
        self.storedMessages = storedMessages
        self.subscribers = subscribers
    }
}

/// A live node of the cluster, as it registered itself.
public struct ClusterMember: Sendable, Hashable {
    /// The node's name (`--node-id`).
    public var id: String
    /// How nginx's upstream names it (`--advertise`): its point set on the ring.
    public var advertise: String
    /// Whether its last heartbeat is recent (within two beats): a node that missed them is probably
    /// gone, and nginx already routes around it, though its registration has not expired yet.
    public var fresh: Bool

    public init(id: String, advertise: String, fresh: Bool = true) {
        self.id = id
        self.advertise = advertise
        self.fresh = fresh
    }
}

/// Server-wide message counts.
public struct EngineTotals: Sendable {
    public var channels: Int
    public var wildcardChannels: Int
    public var publishedMessages: Int64
    public var storedMessages: Int64

    public init(channels: Int, wildcardChannels: Int, publishedMessages: Int64, storedMessages: Int64) {
        self.channels = channels
        self.wildcardChannels = wildcardChannels
        self.publishedMessages = publishedMessages
        self.storedMessages = storedMessages
    }
}
