import HeraldCore
import HeraldRedis
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// One Herald edge node: the public listener (subscribers) and the admin listener (publisher,
/// statistics, health), on one event-loop group, as a `Service` with graceful shutdown.
///
/// On SIGTERM/SIGINT it stops accepting, sends every subscriber its footer or close frame, and
/// returns once all connections are gone or `shutdownGrace` has passed.
public final class HeraldNode: Service {
    public let settings: NodeSettings
    public let context: NodeContext
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let listeners = NIOLockedValueBox<[any Channel]>([])
    private let bound = NIOLockedValueBox<(public: SocketAddress?, admin: SocketAddress?)>((nil, nil))

    /// - Parameters:
    ///   - engine: Where messages live; when nil, Redis if `settings.redis` is set, else in memory.
    /// - Throws: `RedisError` for an invalid `settings.redis` URL.
    ///   - metricsExposition: Renders the metrics registry for `/metrics`; without it `/metrics` is 404.
    public init(
        settings: NodeSettings, engine: (any MessageEngine)? = nil, logger: Logger,
        metricsExposition: (@Sendable () -> String)? = nil
    ) throws {
        self.settings = settings
        self.logger = logger
        // A key that cannot verify anything stops the node here, before it binds.
        let grants = try settings.grantKey.map(GrantVerifier.init)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, settings.threads))
        self.group = group
        let chosen: any MessageEngine
        if let engine {
            chosen = engine
        } else if let redis = settings.redisCluster.map({ $0 }) ?? settings.redis.map({ [$0] }) {
            let urls: [RedisURL]
            do { urls = try redis.map(RedisURL.init) } catch {
                try? group.syncShutdownGracefully()
                throw error
            }
            guard let first = urls.first else {
                try? group.syncShutdownGracefully()
                throw RedisError.invalidURL("no Redis Cluster seed given")
            }
            var configuration = RedisEngine.Configuration(url: first, nodeID: settings.identity, settings: settings)
            if settings.redisCluster != nil { configuration.cluster = urls }
            chosen = RedisEngine(configuration: configuration, group: group, logger: logger)
        } else {
            chosen = MemoryEngine(configuration: .init(settings))
        }
        let registry = SubscriberRegistry(group: group, engine: chosen, settings: settings)
        chosen.attach(registry)
        let cookieChecker = try settings.authURL.map { url in
            guard let configuration = CookieChecker.Configuration(settings, url: url) else {
                try? group.syncShutdownGracefully()
                throw AuthURLError(url: url)
            }
            return CookieChecker(configuration)
        }
        self.context = NodeContext(
            settings: settings, engine: chosen, registry: registry, logger: logger,
            metricsExposition: metricsExposition, grants: grants, cookieChecker: cookieChecker)
    }

    /// The addresses the listeners are bound to, once running (port 0 becomes a real port).
    public var boundAddresses: (public: SocketAddress?, admin: SocketAddress?) {
        bound.withLockedValue { $0 }
    }

    public func run() async throws {
        let publicChannel: any Channel
        let adminChannel: any Channel
        do {
            publicChannel = try await bind(host: settings.host, port: settings.port, role: .public)
            do {
                adminChannel = try await bind(host: settings.adminHost, port: settings.adminPort, role: .admin)
            } catch {
                try? await publicChannel.close()
                throw error
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        listeners.withLockedValue { $0 = [publicChannel, adminChannel] }
        bound.withLockedValue { $0 = (publicChannel.localAddress, adminChannel.localAddress) }
        logger.info("herald node listening", metadata: startMetadata(public: publicChannel, admin: adminChannel))
        context.engine.start(on: group.next())
        var timers = context.registry.startTimers(pingInterval: settings.pingMessageInterval)
        let refresh = group.next()
        timers.append(
            refresh.scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { [context] _ in
                // Only while the engine is up: a read that fails is logged as a request answered
                // 503, and this one answers no client (the node starts before Redis is connected).
                guard context.engine.isReady else { return }
                context.engine.members(on: refresh).whenSuccess { context.cluster.update($0) }
            })

        try await withGracefulShutdownHandler {
            try await publicChannel.closeFuture.get()
            try await adminChannel.closeFuture.get()
        } onGracefulShutdown: { [listeners, context, group] in
            // Leave the ring first, so nginx and the other nodes stop sending subscribers here.
            context.isDraining = true
            _ = context.engine.leave(on: group.next())
            for listener in listeners.withLockedValue({ $0 }) { listener.close(promise: nil) }
        }
        logger.info(
            "herald node stopping",
            metadata: ["connections": "\(context.connections.count + context.registry.connectionCount)"])
        await drain()
        for timer in timers { timer.cancel() }
        try? await context.engine.shutdown(on: group.next()).get()
        try await group.shutdownGracefully()
        logger.info("herald node stopped")
    }

    /// Ends every subscriber with its footer or close frame, lets answers in flight finish,
    /// then closes what remains once the grace period is over.
    private func drain() async {
        let connections = context.connections
        // Spread is for crowds: half a millisecond per subscriber (10,000 take five seconds), at most
        // the drain period, itself at most 80% of the grace.
        let crowd = Int64(context.registry.connectionCount) / 2
        let period = TimeAmount.milliseconds(
            min(crowd, settings.drainPeriod.milliseconds, settings.shutdownGrace.milliseconds * 8 / 10))
        let deadline = NIODeadline.now() + .milliseconds(settings.shutdownGrace.milliseconds)
        // Requests still arriving on kept-alive connections (nginx reuses them) are answered, with
        // `Connection: close`, while subscribers are let go; idle connections close at the end.
        for channel in connections.all { channel.pipeline.fireUserInboundEventTriggered(ShutdownEvent.draining) }
        try? await context.registry.forEachShard { shard, loop in shard.drain(over: period, on: loop) }.get()
        let drained = NIODeadline.now() + period + .milliseconds(50)
        while context.registry.connectionCount > 0 && NIODeadline.now() < drained {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for channel in connections.all { channel.pipeline.fireUserInboundEventTriggered(ShutdownEvent.closeIdle) }
        while connections.count + context.registry.connectionCount > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for channel in connections.all { try? await channel.close() }
        try? await context.registry.forEachShard { shard, _ in shard.closeAll() }.get()
    }

    private func bind(host: String, port: Int, role: ListenerRole) async throws -> any Channel {
        let context = self.context
        let settings = self.settings
        let highWater = max(settings.maxSubscriberBuffer.bytes, 1024)
        // Subscribers connect to the public listener and keep their read buffer while idle: start it
        // small there. Publishers on the admin listener keep NIO's default (2 KiB, growing).
        let initialRead = min(max(settings.initialReadBuffer.bytes, 64), 65_536)
        let reads =
            role == .public
            ? AdaptiveRecvByteBufferAllocator(minimum: 64, initial: initialRead, maximum: 65_536)
            : AdaptiveRecvByteBufferAllocator()
        let limiter =
            role == .public
            ? ConnectionLimiter(
                maxConnections: ConnectionLimits.maxConnections(settings),
                maxPerAddress: settings.maxConnectionsPerAddress, listener: "public")
            : ConnectionLimiter(maxConnections: settings.maxAdminConnections, maxPerAddress: nil, listener: "admin")
        context.limiters.withLockedValue { $0.append(limiter) }
        // Herald batches a loop turn's frames itself, so it sends at once by default; coalescing
        // leaves the kernel to merge messages that come one at a time.
        let noDelay = role == .public && settings.writeCoalescing ? 0 : 1
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Set on the listening socket, which every accepted one inherits it from (Linux and
            // the BSDs): one system call and one option less per connection.
            .serverChannelOption(.tcpOption(.tcp_nodelay), value: noDelay)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Set here, synchronously: as the bootstrap's child options they went through a
                    // chain of futures for every accepted connection, 3.3% of a connect's CPU in a
                    // burst of them against 1.5% this way (`perf record`).
                    guard let options = channel.syncOptions else { throw ChannelError.operationUnsupported }
                    try options.setOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
                    try options.setOption(.maxMessagesPerRead, value: 4)
                    try options.setOption(.recvAllocator, value: reads)
                    // Counted (or refused with a bare 503) before anything else is set up for it.
                    guard limiter.admit(channel) else { return }
                    try Self.configureHTTP(channel.pipeline.syncOperations, context: context, role: role)
                }
            }
            .bind(host: host, port: port)
            .get()
        return listener
    }

    /// The start line: what an operator needs to know the node runs as intended.
    private func startMetadata(public publicChannel: any Channel, admin adminChannel: any Channel) -> Logger.Metadata {
        func limit(_ value: Int?) -> Logger.MetadataValue { "\(value.map(String.init) ?? "none")" }
        let auth = [settings.grantKey != nil ? "grants" : nil, settings.authURL != nil ? "cookie check" : nil]
            .compactMap { $0 }
        let engine: String
        if let seeds = settings.redisCluster {
            engine = "redis cluster \(seeds.compactMap { try? RedisURL($0).address }.joined(separator: ","))"
        } else if let redis = settings.redis, let url = try? RedisURL(redis) {
            engine = "redis \(url.address)"
        } else {
            engine = "memory"
        }
        return [
            "version": "\(HeraldVersion.string)",
            "node": "\(settings.identity)",
            "engine": "\(engine)",
            "listener.public": "\(Self.describe(publicChannel.localAddress))",
            "listener.admin": "\(Self.describe(adminChannel.localAddress))",
            "threads": "\(settings.threads)",
            "limit.connections": limit(ConnectionLimits.maxConnections(settings)),
            "limit.connections_per_address": limit(
                settings.maxConnectionsPerAddress > 0 ? settings.maxConnectionsPerAddress : nil),
            "limit.admin_connections": "\(settings.maxAdminConnections)",
            "limit.channels": limit(settings.maxNumberOfChannels),
            "limit.channels_per_subscription": "\(settings.maxChannelsPerSubscription)",
            "limit.message_size": "\(settings.maxMessageSize)",
            "limit.subscriber_buffer": "\(settings.maxSubscriberBuffer)",
            "auth": "\(auth.isEmpty ? "none" : auth.joined(separator: ", "))",
        ]
    }

    /// `host:port` of a bound listener.
    private static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// The request phase of every connection: the HTTP/1.1 codec and the connection handler (which
    /// keeps the request deadline).
    static func configureHTTP(
        _ pipeline: ChannelPipeline.SynchronousOperations, context: NodeContext, role: ListenerRole
    ) throws {
        try pipeline.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)),
            name: HTTPConnectionHandler.decoderName)
        try pipeline.addHandler(HTTPResponseEncoder(), name: HTTPConnectionHandler.encoderName)
        try pipeline.addHandler(
            HTTPConnectionHandler(node: context, role: role), name: HTTPConnectionHandler.handlerName)
    }
}
