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

    public init(
        channels: [String], text: [UInt8], eventID: String? = nil, eventType: String? = nil, store: Bool,
        channelInfo: Bool = false
    ) {
        self.channels = channels
        self.text = text
        self.eventID = eventID
        self.eventType = eventType
        self.store = store
        self.channelInfo = channelInfo
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

/// One channel's stored messages (oldest first) and the last id it assigned.
public struct ChannelBacklog: Sendable {
    public var messages: [Message]
    public var lastID: Int64
    /// Whether the channel exists at all.
    public var exists: Bool
    /// Names this incarnation of the channel: it changes when the channel is created anew (after a
    /// delete, or a Redis that lost its data), so ids that restarted can be told apart.
    public var epoch: String?

    public init(messages: [Message], lastID: Int64, exists: Bool, epoch: String? = nil) {
        self.messages = messages
        self.lastID = lastID
        self.exists = exists
        self.epoch = epoch
    }

    public static let missing = ChannelBacklog(messages: [], lastID: 0, exists: false)
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
