import Crypto
import HeraldCore
import HeraldPublisher
import Logging
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What every connection handler of a node shares: settings, engine, registry, identity.
public final class NodeContext: Sendable {
    public let settings: NodeSettings
    public let engine: any MessageEngine
    let registry: SubscriberRegistry
    let hostname: String
    let startedAt: Int64
    let logger: Logger
    let cluster: ClusterView
    let metrics: NodeMetrics
    let processMetrics = ProcessMetrics()
    /// The listeners' connection limiters, once bound (for `herald_open_connections`).
    let limiters = NIOLockedValueBox<[ConnectionLimiter]>([])
    /// Connections in their HTTP phase; subscribers are in the registry.
    let connections = ConnectionTracker()
    /// Renders the metrics registry for `/metrics` (set by the process that bootstrapped metrics).
    let metricsExposition: (@Sendable () -> String)?
    /// Verifies subscribers' grants, when `settings.grantKey` asks for them.
    let grants: GrantVerifier?
    /// Asks the app about subscribers without a grant, when `settings.authURL` is set.
    let cookieChecker: CookieChecker?
    /// The digests of the publisher and admin keys, computed once (nil: no key).
    let publisherKeyDigest: SHA256Digest?
    let adminKeyDigest: SHA256Digest?
    private let draining = NIOLockedValueBox(false)

    init(
        settings: NodeSettings, engine: any MessageEngine, registry: SubscriberRegistry, logger: Logger,
        metricsExposition: (@Sendable () -> String)? = nil, grants: GrantVerifier? = nil,
        cookieChecker: CookieChecker? = nil
    ) {
        self.metricsExposition = metricsExposition
        self.grants = grants
        self.cookieChecker = cookieChecker
        self.publisherKeyDigest = KeyedEndpoint.digest(of: settings.publisherKey)
        self.adminKeyDigest = KeyedEndpoint.digest(of: settings.adminKey)
        self.settings = settings
        self.engine = engine
        self.registry = registry
        self.metrics = registry.metrics
        self.hostname = Hostname.current
        self.startedAt = UnixClock.now()
        self.logger = logger
        self.cluster = ClusterView(selfAdvertise: settings.advertisedAddress, metrics: metrics)
    }

    /// Seconds since the node started.
    var uptime: Int64 { UnixClock.now() - startedAt }

    /// Whether this node should be sent subscribers: not draining, its engine connected and
    /// delivering, and itself among the cluster's live members. What `/readyz` answers.
    var readiness: Readiness {
        if isDraining { return .draining }
        if !engine.isReady { return .engineDisconnected }
        if !engine.isDelivering { return .deliveryStalled }
        if engine.registersMembers,
            !cluster.members.contains(where: { $0.advertise == cluster.selfAdvertise && $0.fresh })
        {
            return .notRegistered
        }
        return .ready
    }

    /// Set once shutdown begins: new subscribers are refused, health reports not ready.
    var isDraining: Bool {
        get { draining.withLockedValue { $0 } }
        set { draining.withLockedValue { $0 = newValue } }
    }
}

/// The machine's host name, for stats.
enum Hostname {
    static var current: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// What `/readyz` reports.
enum Readiness: String, Sendable {
    case ready
    case draining
    case engineDisconnected = "engine disconnected"
    case deliveryStalled = "pub/sub delivery stalled"
    case notRegistered = "not registered in the cluster"
}
