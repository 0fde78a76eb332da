/// Herald's Redis key names (docs/REDIS.md). The keys of one channel share the hash tag
/// `{channel}`, so a Redis Cluster keeps them and the channel's pub/sub channel on one shard.
public struct RedisKeys: Sendable, Hashable {
    /// Every key starts with this (default `herald:`).
    public let prefix: String

    public init(prefix: String = "herald:") {
        self.prefix = prefix
    }

    /// The channel's counters: `last_id`, `last_time`, `last_tag`.
    public func meta(_ channel: String) -> String { "\(prefix){\(channel)}:meta" }
    /// The channel's stored messages, oldest first.
    public func log(_ channel: String) -> String { "\(prefix){\(channel)}:log" }
    /// Per-node subscriber counts of the channel.
    public func subscribers(_ channel: String) -> String { "\(prefix){\(channel)}:subscribers" }
    /// The answer of the channel's publish with idempotency key `key`, for the window.
    public func idempotency(_ channel: String, key: String) -> String { "\(prefix){\(channel)}:idem:\(key)" }
    /// The pub/sub channel carrying the channel's envelopes.
    public func pubsub(_ channel: String) -> String { "\(prefix){\(channel)}:pub" }
    /// Every channel, scored by creation order.
    public var channels: String { "\(prefix)channels" }
    /// Existing channels (not wildcard), scored by the Unix second their `meta` expires: counted
    /// against the channel limit, and read for the totals without walking every channel.
    public var live: String { "\(prefix)live" }
    /// Existing wildcard channels, like ``live``.
    public var liveWildcard: String { "\(prefix)live:wildcard" }
    /// Server-wide counters.
    public var stats: String { "\(prefix)stats" }
    /// Live nodes, scored by heartbeat expiry (Unix ms).
    public var nodes: String { "\(prefix)nodes" }
    /// What a node advertises about itself.
    public func node(_ id: String) -> String { "\(prefix)node:\(id)" }

    // Presence: each node process (a run, named anew at every start) writes its own entries and
    // lists them in its index; readers count only live runs' entries; a dead run's are removed by
    // a live node.

    /// The users on the channel: field `<run> <user>`, value that run's connections of the user.
    public func presence(_ channel: String) -> String { "\(prefix){\(channel)}:presence" }
    /// The user's connections: field `<run>`, value its connections of the user.
    public func userPresence(_ user: String) -> String { "\(prefix)presence:{\(user)}" }
    /// Live runs, scored by heartbeat expiry (Unix ms).
    public var runs: String { "\(prefix)runs" }
    /// The presence entries a run wrote: members `<key>\n<field>`.
    public func runPresence(_ run: String) -> String { "\(prefix)run:\(run):presence" }

    /// The channel a pub/sub channel name belongs to, or nil for a foreign name.
    public func channel(fromPubsub name: String) -> String? {
        let head = "\(prefix){"
        guard name.hasPrefix(head), name.hasSuffix("}:pub") else { return nil }
        return String(name.dropFirst(head.count).dropLast(5))
    }
}
