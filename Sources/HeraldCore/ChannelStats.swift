/// One channel's counters, as shown by `GET /pub` and `/channels-stats`.
public struct ChannelInfo: Sendable, Hashable {
    /// The channel id.
    public var channel: String
    /// Messages ever published to the channel: its last message id.
    public var publishedMessages: Int64
    /// Messages currently in the backlog.
    public var storedMessages: Int
    /// Current subscribers.
    public var subscribers: Int

    /// Memberwise initializer.
    public init(channel: String, publishedMessages: Int64, storedMessages: Int, subscribers: Int) {
        self.channel = channel
        self.publishedMessages = publishedMessages
        self.storedMessages = storedMessages
        self.subscribers = subscribers
    }
}

/// Several channels' counters with the server-wide header (`id=ALL`, `prefix*`, `a/b`).
public struct StatsGroup: Sendable {
    /// The node's host name.
    public var hostname: String
    /// Now, in Unix seconds (rendered as ISO 8601 UTC).
    public var time: Int64
    /// Server-wide channel count (not the number of `infos`).
    public var channels: Int
    /// Server-wide wildcard channel count.
    public var wildcardChannels: Int
    /// Seconds since the node started.
    public var uptime: Int64
    /// The channels listed, in request or creation order.
    public var infos: [ChannelInfo]

    /// Memberwise initializer.
    public init(
        hostname: String, time: Int64, channels: Int, wildcardChannels: Int, uptime: Int64, infos: [ChannelInfo]
    ) {
        self.hostname = hostname
        self.time = time
        self.channels = channels
        self.wildcardChannels = wildcardChannels
        self.uptime = uptime
        self.infos = infos
    }
}

/// One worker's line in the summary; Herald reports one per node (or per event loop).
public struct WorkerStats: Sendable {
    /// Process id.
    public var pid: Int32
    /// Subscribers served by this worker.
    public var subscribers: Int
    /// Seconds since the worker started.
    public var uptime: Int64

    /// Memberwise initializer.
    public init(pid: Int32, subscribers: Int, uptime: Int64) {
        self.pid = pid
        self.subscribers = subscribers
        self.uptime = uptime
    }
}

/// The `/channels-stats` summary (no `id` argument).
public struct StatsSummary: Sendable {
    /// The node's host name.
    public var hostname: String
    /// Now, in Unix seconds (rendered as ISO 8601 UTC).
    public var time: Int64
    /// Channel count.
    public var channels: Int
    /// Wildcard channel count.
    public var wildcardChannels: Int
    /// Messages published server-wide, events channel excluded.
    public var publishedMessages: Int64
    /// Messages currently stored server-wide.
    public var storedMessages: Int64
    /// Messages dropped but not yet freed (push-stream bookkeeping; Herald reports 0 or its own).
    public var messagesInTrash: Int
    /// Deleted channels still notifying subscribers.
    public var channelsInDelete: Int
    /// Deleted channels not yet freed.
    public var channelsInTrash: Int
    /// Current subscribers.
    public var subscribers: Int
    /// Seconds since the node started.
    public var uptime: Int64
    /// Per-worker breakdown (`by_worker`).
    public var workers: [WorkerStats]

    /// Memberwise initializer.
    public init(
        hostname: String, time: Int64, channels: Int, wildcardChannels: Int, publishedMessages: Int64,
        storedMessages: Int64, messagesInTrash: Int, channelsInDelete: Int, channelsInTrash: Int,
        subscribers: Int, uptime: Int64, workers: [WorkerStats]
    ) {
        self.hostname = hostname
        self.time = time
        self.channels = channels
        self.wildcardChannels = wildcardChannels
        self.publishedMessages = publishedMessages
        self.storedMessages = storedMessages
        self.messagesInTrash = messagesInTrash
        self.channelsInDelete = channelsInDelete
        self.channelsInTrash = channelsInTrash
        self.subscribers = subscribers
        self.uptime = uptime
        self.workers = workers
    }
}
