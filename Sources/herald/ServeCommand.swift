import ArgumentParser
import Foundation
import HeraldCore
import HeraldRedis
import HeraldServer
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `herald serve`: run one edge node.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a Herald node.",
        discussion: """
            Every option can also be set by an environment variable (--admin-port is HERALD_ADMIN_PORT) \
            or in a YAML configuration file (admin-port: 9081). The command line wins over the \
            environment, which wins over the file. --print-config shows what the node would run with.

            Examples:
              herald serve --redis redis://127.0.0.1:6379 \\
                --publisher-key-file /etc/herald/key
              HERALD_REDIS=redis://10.0.0.5 herald serve \\
                --config /etc/herald/herald.yaml --print-config
            """
    )

    // MARK: Configuration
    @Option(help: "A YAML file of settings (keys are the long option names: max-message-size: 64k).")
    var config: String?
    @Flag(help: "Print every setting's value and where it came from, then exit.") var printConfig = false

    // MARK: Listeners
    @Option(help: "Address of the public listener (subscribers).") var host = "0.0.0.0"
    @Option(help: "Port of the public listener.") var port = 9080
    @Option(help: "Address of the admin listener (publisher, stats, health).") var adminHost = "127.0.0.1"
    @Option(help: "Port of the admin listener.") var adminPort = 9081
    @Flag(inversion: .prefixedNo, help: "Also serve /pub (normal mode, no DELETE) on the public listener.")
    var publicPublisher = false
    @Option(help: "Event-loop threads (default: one per core).") var threads: Int?
    @Flag(
        inversion: .prefixedNo,
        help: "Let the kernel coalesce small writes to subscribers (Nagle's algorithm; up to one round trip later).")
    var writeCoalescing = false

    // MARK: Messages
    @Flag(inversion: .prefixedNo, help: "Store published messages in the channel's backlog.")
    var storeMessages = true
    @Option(help: "Messages kept per channel.") var maxMessagesStoredPerChannel = 100
    @Option(help: "How long a stored message is kept (e.g. 30s, 10m, 1h).") var messageTtl = TimeSpan.seconds(600)
    @Option(help: "Largest accepted message body (e.g. 32k, 1m); larger gets 413.")
    var maxMessageSize = ByteSize(bytes: 32 * 1024)
    @Option(help: "Text of the message sent to a deleted channel's subscribers.")
    var channelDeletedMessageText = "Channel deleted"
    @Option(help: "Text of the ping message rendered through streaming templates.") var pingMessageText = " "
    @Option(help: "A channel with nothing stored and no subscriber is forgotten after this long.")
    var channelInactivityTime = TimeSpan.seconds(30)
    @Flag(inversion: .prefixedNo, help: "Answer a publish with the channel's info.")
    var channelInfoOnPublish = true

    // MARK: Channels
    @Option(help: "Longest channel id in bytes (0: no limit).") var maxChannelIdLength = 200
    @Option(help: "Subscribers allowed per channel (default: no limit).") var maxSubscribersPerChannel: Int?
    @Option(help: "Channels one subscriber connection may join at once.") var maxChannelsPerSubscription = 100
    @Option(help: "Channels that may exist at once (per node in memory, per cluster with Redis; 0: no limit).")
    var maxNumberOfChannels = 100_000
    @Option(help: "Wildcard channels allowed (default: no limit).") var maxNumberOfWildcardChannels: Int?
    @Option(help: "Channels starting with this prefix are wildcard (broadcast) channels.")
    var wildcardChannelPrefix: String?
    @Option(help: "Wildcard channels one subscriber may join (default: no limit).") var wildcardChannelMaxQtd: Int?
    @Flag(inversion: .prefixedNo, help: "Subscribers may only join channels that have stored messages.")
    var authorizedChannelsOnly = false
    @Option(help: "Channel receiving channel_created/destroyed and client_subscribed/unsubscribed events.")
    var eventsChannelId: String?
    @Flag(inversion: .prefixedNo, help: "Allow subscribing to the events channel.")
    var allowConnectionsToEventsChannel = false

    // MARK: Subscribers
    @Option(help: "Ping idle subscribers this often (0: never).") var pingMessageInterval = TimeSpan.seconds(30)
    @Option(help: "Close streaming/EventSource/WebSocket subscribers after this long (default: never).")
    var subscriberConnectionTtl: TimeSpan?
    @Option(help: "How long a long-poll waits for a message.") var longpollingConnectionTtl = TimeSpan.seconds(30)
    @Flag(inversion: .prefixedNo, help: "A long-poll timeout answers 200 with a timed-out message instead of 304.")
    var timeoutWithBody = false
    @Flag(inversion: .prefixedNo, help: "Resume from the time, tag and eventid query arguments instead of headers.")
    var messagesControlByArgument = false
    @Flag(inversion: .prefixedNo, help: "Publish what WebSocket subscribers send to their channels.")
    var websocketAllowPublish = false
    @Option(help: "Access-Control-Allow-Origin for publisher and subscriber responses (default: no CORS).")
    var allowedOrigins: String?
    @Option(help: "Disconnect a subscriber whose unsent output passes this (it resumes from the backlog).")
    var maxSubscriberBuffer = ByteSize(bytes: 1024 * 1024)
    @Option(help: "Time a connection has to send a complete request.") var requestTimeout = TimeSpan.seconds(30)
    @Option(help: "A connection being closed gets this long to flush its last bytes, then is cut off.")
    var closeTimeout = TimeSpan.seconds(2)
    @Option(help: "Requests of one connection read ahead of their answers (pipelined publishes run together).")
    var maxPipelinedRequests = 32
    @Option(help: "First read buffer of a public connection (grows for larger requests); each subscriber keeps one.")
    var initialReadBuffer = ByteSize(bytes: 256)

    // MARK: Who may listen
    @Option(help: "Subscribers must present a grant signed with this HS256 secret (at least 32 bytes).")
    var authSecret: String?
    @Option(
        help:
            "Subscribers must present a grant signed by the key whose public half is in this PEM file (RS256 or ES256)."
    )
    var authPublicKey: String?
    @Option(help: "A cookie that may carry the grant (besides ?token= and Authorization: Bearer).")
    var authCookie: String?
    @Option(help: "Channels under this prefix belong to one user each: user 42 alone may read <prefix>42.")
    var userChannelPrefix: String?
    @Option(help: "Without a grant, a subscriber is allowed when this app URL answers 2xx to its cookies.")
    var authUrl: String?
    @Option(help: "How long the app's answer for the same cookies and channels is reused (0s: never).")
    var authCacheTtl = TimeSpan.seconds(10)
    @Option(help: "A subscriber the app has not answered for in this long gets 503.")
    var authTimeout = TimeSpan.seconds(2)
    @Option(help: "Cookie checks waiting for the app at once; more get 503 at once.") var authMaxPending = 1_024
    @Option(help: "Answers the cookie check cache keeps.") var authCacheSize = 10_000
    @Option(help: "Publishing (/pub, both listeners) requires Authorization: Bearer with this key.")
    var publisherKey: String?
    @Option(help: "A file holding the publisher key (its first line), instead of --publisher-key.")
    var publisherKeyFile: String?
    @Option(help: "/channels-stats, /presence, /cluster and /metrics require Authorization: Bearer with this key.")
    var adminKey: String?

    // MARK: Connections
    @Option(
        help:
            "Connections on the public listener; more get 503 (default: the descriptor limit minus a reserve; 0: no limit)."
    )
    var maxConnections: Int?
    @Option(help: "Public connections from one address; more get 503 (0: no limit; raise it behind a proxy).")
    var maxConnectionsPerAddress = 1_000
    @Option(help: "Connections on the admin listener; more get 503.") var maxAdminConnections = 256

    // MARK: Templates
    @Option(help: "Message template of every mode (default: push-stream's JSON; streaming: its iframe script).")
    var messageTemplate: String?
    @Option(help: "Header template of every mode.") var headerTemplate: String?
    @Option(help: "Footer template of every mode.") var footerTemplate: String?
    @Option(help: "Message template of /sub (streaming).") var streamingMessageTemplate: String?
    @Option(help: "Header template of /sub (streaming).") var streamingHeaderTemplate: String?
    @Option(help: "Footer template of /sub (streaming).") var streamingFooterTemplate: String?
    @Option(help: "Message template of /ev (EventSource).") var eventsourceMessageTemplate: String?
    @Option(help: "Header template of /ev (EventSource).") var eventsourceHeaderTemplate: String?
    @Option(help: "Footer template of /ev (EventSource).") var eventsourceFooterTemplate: String?
    @Option(help: "Message template of long-polling and polling.") var longpollingMessageTemplate: String?
    @Option(help: "Header template of long-polling and polling.") var longpollingHeaderTemplate: String?
    @Option(help: "Footer template of long-polling and polling.") var longpollingFooterTemplate: String?
    @Option(help: "Message template of /ws (WebSocket).") var websocketMessageTemplate: String?
    @Option(help: "Header template of /ws (WebSocket).") var websocketHeaderTemplate: String?
    @Option(help: "Footer template of /ws (WebSocket).") var websocketFooterTemplate: String?

    // MARK: Cluster
    @Option(help: "Use Redis for pub/sub and the backlog: redis://[:password@]host[:port][/db] (default: in memory).")
    var redis: String?
    @Option(
        help: ArgumentHelp(
            "Use a Redis Cluster instead: comma-separated seed URLs, redis://[user:password@]host:port,…",
            valueName: "seeds"))
    var redisCluster: String?
    @Option(help: "Prefix of every Redis key.") var redisPrefix = "herald:"
    @Option(help: "How long a channel's ids outlive its last publish in Redis.")
    var channelRetention = TimeSpan.seconds(86_400)
    @Option(help: "none, or replicas=N: a publish is acknowledged once N Redis replicas have it (WAIT).")
    var publishDurability = "none"
    @Option(help: "How long a publish waits for its replicas before it is answered 503.")
    var publishDurabilityTimeout = TimeSpan.seconds(1)
    @Option(help: "How long a publish's Idempotency-Key is remembered: a retry within it is not published again.")
    var idempotencyWindow = TimeSpan.seconds(300)
    @Option(help: "Send a probe through each Redis pub/sub route this often and expect it back (0: off).")
    var deliveryProbeInterval = TimeSpan.seconds(5)
    @Option(help: "A probe not back within this makes its route reconnect and repair, and the node not ready.")
    var deliveryProbeTimeout = TimeSpan.seconds(3)
    @Option(help: "This node's name in the cluster (default: its advertised address).") var nodeId: String?
    @Option(help: "host:port by which nginx's upstream names this node (default: the public listener's).")
    var advertise: String?

    // MARK: Lifecycle
    @Option(help: "On SIGTERM/SIGINT, time given to subscribers to be told and let go.")
    var shutdownGrace = TimeSpan.seconds(10)
    @Option(help: "On SIGTERM/SIGINT, subscribers are let go over this long (at most 80% of the grace).")
    var drainPeriod = TimeSpan.seconds(5)
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Option(help: "Log line format: logfmt (key=value) or json (one object per line).") var logFormat = "logfmt"

    func validate() throws {
        let templates = [
            messageTemplate, streamingMessageTemplate, eventsourceMessageTemplate, longpollingMessageTemplate,
            websocketMessageTemplate,
        ]
        if templates.contains(where: { $0?.allSatisfy(\.isWhitespace) == true }) {
            throw ValidationError("A message template must not be blank.")
        }
        if maxMessagesStoredPerChannel < 1 { throw ValidationError("--max-messages-stored-per-channel must be ≥ 1.") }
        if maxMessageSize.bytes < 1 { throw ValidationError("--max-message-size must be ≥ 1 byte.") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("Unknown --log-level '\(logLevel)'.") }
        if LogFormat(rawValue: logFormat) == nil {
            throw ValidationError("Unknown --log-format '\(logFormat)' (logfmt or json).")
        }
        if closeTimeout.milliseconds < 1 { throw ValidationError("--close-timeout must be > 0.") }
        if maxChannelsPerSubscription < 1 { throw ValidationError("--max-channels-per-subscription must be ≥ 1.") }
        if maxNumberOfChannels < 0 { throw ValidationError("--max-number-of-channels must be ≥ 0.") }
        if maxPipelinedRequests < 1 { throw ValidationError("--max-pipelined-requests must be ≥ 1.") }
        if deliveryProbeTimeout.milliseconds < 1 { throw ValidationError("--delivery-probe-timeout must be > 0.") }
        if idempotencyWindow.seconds < 1 { throw ValidationError("--idempotency-window must be ≥ 1s.") }
        if Self.replicas(in: publishDurability) == nil {
            throw ValidationError("--publish-durability: none, or replicas=N with N from 1 to 16.")
        }
        if publishDurabilityTimeout.milliseconds < 1 {
            throw ValidationError("--publish-durability-timeout must be > 0.")
        }
        if !(redis ?? "").isEmpty && !(redisCluster ?? "").isEmpty {
            throw ValidationError("--redis and --redis-cluster exclude each other: one Redis, or a Redis Cluster.")
        }
        if let redisCluster, !redisCluster.isEmpty {
            for seed in redisCluster.split(separator: ",", omittingEmptySubsequences: false) {
                do { _ = try RedisURL(String(seed)) } catch {
                    let shown = ServeConfiguration.withoutPassword(String(seed))
                    throw ValidationError("--redis-cluster: '\(shown)' is not a Redis URL.")
                }
            }
        }
        if let maxConnections, maxConnections < 0 { throw ValidationError("--max-connections must be ≥ 0.") }
        if maxConnectionsPerAddress < 0 { throw ValidationError("--max-connections-per-address must be ≥ 0.") }
        if maxAdminConnections < 1 { throw ValidationError("--max-admin-connections must be ≥ 1.") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1.") }
        if !(64...65_536).contains(initialReadBuffer.bytes) {
            throw ValidationError("--initial-read-buffer must be between 64 bytes and 64k.")
        }
        if authSecret?.isEmpty == false && authPublicKey?.isEmpty == false {
            throw ValidationError("Give --auth-secret or --auth-public-key, not both.")
        }
        if let authSecret, !authSecret.isEmpty, authSecret.utf8.count < GrantKey.minimumSecretLength {
            throw ValidationError("--auth-secret must be at least \(GrantKey.minimumSecretLength) bytes.")
        }
        if authTimeout.milliseconds < 1 { throw ValidationError("--auth-timeout must be > 0.") }
        if authMaxPending < 1 { throw ValidationError("--auth-max-pending must be ≥ 1.") }
        if authCacheSize < 0 { throw ValidationError("--auth-cache-size must be ≥ 0.") }
    }

    /// The publisher key: the option, else the first line of the key file.
    func publisherKeyValue() throws -> String? {
        if let publisherKey, !publisherKey.isEmpty { return publisherKey }
        guard let publisherKeyFile, !publisherKeyFile.isEmpty else { return nil }
        guard let contents = FileManager.default.contents(atPath: publisherKeyFile),
            let line = String(decoding: contents, as: UTF8.self).split(whereSeparator: \.isNewline).first,
            !line.trimmingCharacters(in: .whitespaces).isEmpty
        else { throw ValidationError("Cannot read a key from --publisher-key-file \(publisherKeyFile).") }
        return line.trimmingCharacters(in: .whitespaces)
    }

    /// The grant key the options name: the secret, or the public key file's contents.
    func grantKey() throws -> GrantKey? {
        if let authSecret, !authSecret.isEmpty { return .secret(Array(authSecret.utf8)) }
        guard let authPublicKey, !authPublicKey.isEmpty else { return nil }
        guard let pem = FileManager.default.contents(atPath: authPublicKey) else {
            throw ValidationError("Cannot read --auth-public-key \(authPublicKey).")
        }
        return .publicKeyPEM(String(decoding: pem, as: UTF8.self))
    }

    /// The replicas `--publish-durability` asks for (`none`: 0), nil if it is not a valid value.
    static func replicas(in durability: String) -> Int? {
        if durability == "none" { return 0 }
        guard durability.hasPrefix("replicas="), let count = Int(durability.dropFirst("replicas=".count)),
            (1...16).contains(count)
        else { return nil }
        return count
    }

    /// The node's settings from the parsed options.
    var settings: NodeSettings {
        var s = NodeSettings()
        s.host = host
        s.port = port
        s.adminHost = adminHost
        s.adminPort = adminPort
        s.publicPublisher = publicPublisher
        s.writeCoalescing = writeCoalescing
        if let threads { s.threads = threads }
        s.storeMessages = storeMessages
        s.maxMessagesStoredPerChannel = maxMessagesStoredPerChannel
        s.messageTTL = messageTtl
        s.maxMessageSize = maxMessageSize
        s.channelDeletedMessageText = channelDeletedMessageText
        s.pingMessageText = pingMessageText
        s.channelInactivityTime = channelInactivityTime
        s.channelInfoOnPublish = channelInfoOnPublish
        s.maxChannelIDLength = maxChannelIdLength > 0 ? maxChannelIdLength : nil
        s.maxSubscribersPerChannel = maxSubscribersPerChannel
        s.maxChannelsPerSubscription = maxChannelsPerSubscription
        s.maxNumberOfChannels = maxNumberOfChannels > 0 ? maxNumberOfChannels : nil
        s.maxNumberOfWildcardChannels = maxNumberOfWildcardChannels
        s.wildcardChannelPrefix = wildcardChannelPrefix.flatMap { $0.isEmpty ? nil : $0 }
        s.wildcardChannelMaxQtd = wildcardChannelMaxQtd
        s.authorizedChannelsOnly = authorizedChannelsOnly
        s.eventsChannelID = eventsChannelId.flatMap { $0.isEmpty ? nil : $0 }
        s.allowConnectionsToEventsChannel = allowConnectionsToEventsChannel
        s.pingMessageInterval = pingMessageInterval.milliseconds > 0 ? pingMessageInterval : nil
        s.subscriberConnectionTTL = subscriberConnectionTtl.flatMap { $0.milliseconds > 0 ? $0 : nil }
        s.longpollingConnectionTTL = longpollingConnectionTtl
        s.timeoutWithBody = timeoutWithBody
        s.messagesControlByArgument = messagesControlByArgument
        s.websocketAllowPublish = websocketAllowPublish
        s.allowedOrigins = allowedOrigins
        s.maxSubscriberBuffer = maxSubscriberBuffer
        s.requestTimeout = requestTimeout
        s.closeTimeout = closeTimeout
        s.maxPipelinedRequests = maxPipelinedRequests
        s.initialReadBuffer = initialReadBuffer
        s.maxConnections = maxConnections
        s.maxConnectionsPerAddress = maxConnectionsPerAddress
        s.maxAdminConnections = maxAdminConnections
        s.streamingTemplates = templates(
            s.streamingTemplates, streamingHeaderTemplate, streamingMessageTemplate, streamingFooterTemplate)
        s.eventSourceTemplates = templates(
            s.eventSourceTemplates, eventsourceHeaderTemplate, eventsourceMessageTemplate, eventsourceFooterTemplate)
        s.longPollingTemplates = templates(
            s.longPollingTemplates, longpollingHeaderTemplate, longpollingMessageTemplate, longpollingFooterTemplate)
        s.webSocketTemplates = templates(
            s.webSocketTemplates, websocketHeaderTemplate, websocketMessageTemplate, websocketFooterTemplate)
        s.redis = redis.flatMap { $0.isEmpty ? nil : $0 }
        s.redisCluster = redisCluster.flatMap { $0.isEmpty ? nil : $0.split(separator: ",").map(String.init) }
        s.redisPrefix = redisPrefix
        s.channelRetention = channelRetention
        s.idempotencyWindow = idempotencyWindow
        s.publishReplicas = Self.replicas(in: publishDurability) ?? 0
        s.publishDurabilityTimeout = publishDurabilityTimeout
        s.deliveryProbeInterval = deliveryProbeInterval
        s.deliveryProbeTimeout = deliveryProbeTimeout
        s.nodeID = nodeId.flatMap { $0.isEmpty ? nil : $0 }
        s.advertise = advertise.flatMap { $0.isEmpty ? nil : $0 }
        s.shutdownGrace = shutdownGrace
        s.drainPeriod = drainPeriod
        s.grantCookie = authCookie.flatMap { $0.isEmpty ? nil : $0 }
        s.userChannelPrefix = userChannelPrefix.flatMap { $0.isEmpty ? nil : $0 }
        s.authURL = authUrl.flatMap { $0.isEmpty ? nil : $0 }
        s.authCacheTTL = authCacheTtl
        s.authTimeout = authTimeout
        s.authMaxPending = authMaxPending
        s.authCacheSize = authCacheSize
        s.adminKey = adminKey.flatMap { $0.isEmpty ? nil : $0 }
        return s
    }

    /// A mode's templates: its own option, else the all-modes option, else the mode's default.
    private func templates(
        _ defaults: ModeTemplates, _ header: String?, _ message: String?, _ footer: String?
    )
        -> ModeTemplates
    {
        ModeTemplates(
            header: header ?? headerTemplate ?? defaults.header,
            message: (message ?? messageTemplate).map(MessageTemplate.init) ?? defaults.message,
            footer: footer ?? footerTemplate ?? defaults.footer)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let format = LogFormat(rawValue: logFormat) ?? .logfmt
        LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, format: format, level: level) }
        let logger = Logger(label: "herald")
        let metrics = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: metrics)
        // Deliveries, Redis round trips and loop lag are sub-millisecond when all is well: the
        // default buckets (from 5 ms) would put everything healthy in the first one.
        let fine: [Duration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        ]
        for label in [
            "herald_delivery_latency_seconds", "herald_event_loop_lag_seconds", "herald_redis_command_duration_seconds",
        ] {
            factory.durationHistogramBuckets[label] = fine
        }
        MetricsSystem.bootstrap(factory)
        let node: HeraldNode
        do {
            var settings = self.settings
            settings.grantKey = try grantKey()
            settings.publisherKey = try publisherKeyValue()
            node = try HeraldNode(settings: settings, logger: logger) {
                var text: [UInt8] = []
                metrics.emit(into: &text)
                return String(decoding: text, as: UTF8.self)
            }
        } catch {
            FileHandle.standardError.write(Data("herald: \(error)\n".utf8))
            throw ExitCode.failure
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: node)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            // One clear line, not a backtrace: a port in use or a bad address is an operator's fix.
            FileHandle.standardError.write(Data("herald: \(describe(error))\n".utf8))
            throw ExitCode.failure
        }
    }

    private func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("Address already in use") { return "cannot listen: address already in use (\(text))" }
        return text
    }
}

extension TimeSpan: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public var defaultValueDescription: String { description }
}

extension ByteSize: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public var defaultValueDescription: String { description }
}
