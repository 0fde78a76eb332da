import HeraldCore
import NIOCore

/// The templates one subscriber mode renders with.
public struct ModeTemplates: Sendable, Hashable {
    /// Sent once, right after the response headers.
    public var header: String?
    /// Applied to every message.
    public var message: MessageTemplate
    /// Sent just before a server-initiated close.
    public var footer: String?

    public init(header: String? = nil, message: MessageTemplate = .pushStreamJSON, footer: String? = nil) {
        self.header = header
        self.message = message
        self.footer = footer
    }

    /// The forever-iframe page of push-stream's example layout: the header registers the
    /// frame with the JavaScript client, each message calls its `p` function.
    public static let streamingPage = ModeTemplates(
        header: "<html><head><meta charset=\"utf-8\"><script type=\"text/javascript\">"
            + "parent.PushStream.register(this);</script></head><body>",
        message: MessageTemplate(
            "<script>p(~id~,'~channel~','~text~','~event-id~', '~time~', '~tag~');</script>"),
        footer: "</body></html>"
    )
}

/// Everything that shapes one node's behaviour. Every field is a `herald serve` option
/// (and an environment variable); the defaults are the documented ones.
public struct NodeSettings: Sendable {
    // Listeners
    public var host = "0.0.0.0"
    public var port = 9080
    public var adminHost = "127.0.0.1"
    public var adminPort = 9081
    /// Also serve `/pub` (normal mode: no DELETE) on the public listener.
    public var publicPublisher = false
    /// Event-loop threads; subscribers are spread over all of them.
    public var threads = System.coreCount
    /// Leave Nagle's algorithm on for the public listener's connections: the kernel holds a small
    /// write while an earlier one is unacknowledged and sends them together. Cheaper per message
    /// when messages come one at a time, at up to one round trip of added latency (BENCHMARKS.md).
    public var writeCoalescing = false

    // Messages and backlog
    public var storeMessages = true
    public var maxMessagesStoredPerChannel = 100
    public var messageTTL = TimeSpan.seconds(600)
    public var maxMessageSize = ByteSize(bytes: 32 * 1024)
    public var channelDeletedMessageText = "Channel deleted"
    public var pingMessageText = " "
    /// A channel with no stored message and no subscriber is forgotten after this long.
    public var channelInactivityTime = TimeSpan.seconds(30)
    public var channelInfoOnPublish = true

    // Channels
    public var maxChannelIDLength: Int? = 200
    public var maxSubscribersPerChannel: Int?
    /// Channels one subscriber connection may join at once.
    public var maxChannelsPerSubscription = 100
    /// Channels (not wildcard) that may exist at once: on this node with the memory engine, in the
    /// whole cluster with Redis. Creating one more (a subscriber or a publish) is refused with 403.
    /// nil: no limit.
    public var maxNumberOfChannels: Int? = 100_000
    public var maxNumberOfWildcardChannels: Int?
    public var wildcardChannelPrefix: String?
    public var wildcardChannelMaxQtd: Int?
    public var authorizedChannelsOnly = false
    public var eventsChannelID: String?
    public var allowConnectionsToEventsChannel = false

    // Subscribers
    public var pingMessageInterval: TimeSpan? = .seconds(30)
    public var subscriberConnectionTTL: TimeSpan?
    public var longpollingConnectionTTL = TimeSpan.seconds(30)
    public var timeoutWithBody = false
    public var messagesControlByArgument = false
    public var websocketAllowPublish = false
    /// `--allowed-origins`: `*` or a comma-separated list of origins.
    public var allowedOrigins: String? { didSet { originPolicy = OriginPolicy(allowedOrigins) } }
    /// `allowedOrigins`, parsed once.
    public private(set) var originPolicy: OriginPolicy?

    // Who may listen
    /// The key subscribers' grants are signed with; with none, subscribing needs no grant.
    public var grantKey: GrantKey?
    /// A cookie that may carry the grant (besides `?token=` and `Authorization: Bearer`).
    public var grantCookie: String?
    /// Channels under this prefix belong to one user each (`user:42` to user `42`).
    public var userChannelPrefix: String?
    /// The app's cookie check: a subscriber without a grant is allowed when this URL answers 2xx
    /// to its cookies (see ``CookieCheck``). nil: no check.
    public var authURL: String?
    /// How long the app's answer for one set of credentials and channels is reused (0: never).
    public var authCacheTTL = TimeSpan.seconds(10)
    /// A subscriber whose check the app has not answered in this long is refused with 503.
    public var authTimeout = TimeSpan.seconds(2)
    /// Checks waiting for the app at once (asked or queued behind the same credentials); more are
    /// refused with 503 at once.
    public var authMaxPending = 1_024
    /// Answers the check cache keeps; the oldest go first.
    public var authCacheSize = 10_000
    /// Required as `Authorization: Bearer` on `/pub`, on both listeners (nil: none).
    public var publisherKey: String?
    /// Required as `Authorization: Bearer` on `/channels-stats`, `/cluster` and `/metrics` (nil: none).
    public var adminKey: String?

    /// A subscriber whose unflushed output passes this is disconnected (it resumes from the backlog).
    public var maxSubscriberBuffer = ByteSize(bytes: 1024 * 1024)
    /// How long a connection may take to send a complete request.
    public var requestTimeout = TimeSpan.seconds(30)
    /// A connection being closed (a refusal, a subscriber's overflow, drain, time to live, protocol
    /// error) gets this long to flush its last bytes; then it is closed regardless, so a client that
    /// stopped reading cannot keep its socket.
    public var closeTimeout = TimeSpan.seconds(2)
    /// Requests of one connection read ahead of their answers (pipelined publishes run side by side).
    public var maxPipelinedRequests = 32
    /// First read buffer of a public-listener connection, rounded down to a power of two; it grows
    /// for larger requests. A subscriber keeps the buffer its request was read into for as long as
    /// it stays connected (SwiftNIO pools it per connection), so a small one is most of what an idle
    /// subscriber saves: 256 bytes hold a plain subscribe request, a browser's takes one more read.
    public var initialReadBuffer = ByteSize(bytes: 256)

    // Connections
    /// Connections the public listener holds at once; more are answered 503 and closed. nil: derived
    /// from the process's descriptor limit (``ConnectionLimits/defaultMaxConnections(fileLimit:adminConnections:)``),
    /// keeping descriptors back for the admin listener, Redis and logs. 0: no limit.
    public var maxConnections: Int?
    /// Public connections from one client address at once; more are answered 503 and closed. Behind
    /// a proxy (nginx) every connection comes from its address: raise this, or 0 for no limit.
    public var maxConnectionsPerAddress = 1_000
    /// Connections the admin listener holds at once (publishers, stats, health checks).
    public var maxAdminConnections = 256

    // Templates, per mode
    public var streamingTemplates = ModeTemplates.streamingPage
    public var eventSourceTemplates = ModeTemplates()
    public var longPollingTemplates = ModeTemplates()
    public var webSocketTemplates = ModeTemplates()

    // Cluster
    /// `redis://[:password@]host[:port][/db]`: use the Redis engine; nil keeps the in-memory one.
    public var redis: String?
    /// Replicas each publish must reach (Redis `WAIT`) before it is acknowledged (0: none); a
    /// publish that does not reach them within ``publishDurabilityTimeout`` is answered 503.
    public var publishReplicas = 0
    /// How long a publish waits for ``publishReplicas``.
    public var publishDurabilityTimeout = TimeSpan.seconds(1)
    /// How long a publish's `Idempotency-Key` is remembered per channel: a retry within it gets
    /// the first publish's answer and is not stored or sent again.
    public var idempotencyWindow = TimeSpan.seconds(300)
    /// How often each node sends a probe through each pub/sub route (one Redis, or each shard)
    /// and expects it back; 0 turns the probes off.
    public var deliveryProbeInterval = TimeSpan.seconds(5)
    /// How long a probe may take to come back before its route counts as stalled: reconnected,
    /// repaired from the backlogs, and the node not ready until a probe returns.
    public var deliveryProbeTimeout = TimeSpan.seconds(3)
    /// Seed URLs of a Redis Cluster: use the Redis engine on it (sharded pub/sub); excludes ``redis``.
    public var redisCluster: [String]?
    /// Prefix of every Redis key.
    public var redisPrefix = "herald:"
    /// How long a channel's counters outlive its last publish in Redis (ids never restart meanwhile).
    public var channelRetention = TimeSpan.seconds(86_400)
    /// This node's name in the cluster (default: its advertised address).
    public var nodeID: String?
    /// How nginx's upstream names this node (`host:port` exactly as in its `server` line); the
    /// ring is built from these. Default: the public listener's address (host name for 0.0.0.0).
    public var advertise: String?

    /// The address this node is known by on the ring.
    public var advertisedAddress: String {
        advertise ?? "\(host == "0.0.0.0" || host == "::" ? Hostname.current : host):\(port)"
    }

    /// This node's name: `nodeID`, else its advertised address.
    public var identity: String { nodeID ?? advertisedAddress }

    // Lifecycle
    public var shutdownGrace = TimeSpan.seconds(10)
    /// Subscribers are let go over this much of the grace period (at most 80% of it), so they
    /// reconnect to the other nodes gradually.
    public var drainPeriod = TimeSpan.seconds(5)

    public init() {}

    /// The limits a channel list must respect: a subscription's, or a publisher's / stats request's.
    public func channelLimits(subscriber: Bool) -> ChannelLimits {
        ChannelLimits(
            maxChannelIDLength: maxChannelIDLength, maxChannels: maxChannelsPerSubscription,
            wildcardPrefix: subscriber ? wildcardChannelPrefix : nil,
            maxWildcardChannels: subscriber ? wildcardChannelMaxQtd : nil, isSubscriber: subscriber)
    }

    /// The templates a subscriber in `mode` renders with (polling shares long-polling's).
    public func templates(for mode: SubscriberMode) -> ModeTemplates {
        switch mode {
        case .streaming: streamingTemplates
        case .eventSource: eventSourceTemplates
        case .polling, .longPolling: longPollingTemplates
        case .webSocket: webSocketTemplates
        }
    }
}
