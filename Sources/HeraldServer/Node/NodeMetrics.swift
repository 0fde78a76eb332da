import HeraldCore
import Metrics
import NIOCore

/// The node's metrics, through swift-metrics (Prometheus in `herald serve`, at `/metrics`).
///
/// Names follow Prometheus conventions (`_total` counters, base units in the name); labels are
/// bounded sets (transports, outcomes, reasons), never channel or user names. What is counted on
/// the delivery path is counted once per message per event loop, never once per subscriber.
/// Some live where they are counted: the Redis client's (`herald_redis_*`), the pub/sub gap
/// repairs, the connection limiters'. docs/OPERATIONS.md says what each means in an incident.
final class NodeMetrics: Sendable {
    let misroutedSubscribers = Counter(label: "herald_misrouted_subscribers_total")
    let publishes = Counter(label: "herald_publishes_total", dimensions: [("result", "ok")])
    let failedPublishes = Counter(label: "herald_publishes_total", dimensions: [("result", "error")])
    let refusedPublishes = Counter(label: "herald_publishes_total", dimensions: [("result", "refused")])
    let hostedChannels = Gauge(label: "herald_hosted_channels")
    let subscriptionsNow = Gauge(label: "herald_subscriptions")
    let clusterMembers = Gauge(label: "herald_cluster_members")
    let engineReady = Gauge(label: "herald_engine_ready")
    let ready = Gauge(label: "herald_ready")
    /// Messages written to subscribers (one per subscriber reached, gap notices included).
    let delivered = Counter(label: "herald_messages_delivered_total")
    /// Frames a subscriber was owed but did not get because it was cut off for reading too slowly
    /// (it resumes from the backlog).
    let droppedSlow = Counter(label: "herald_messages_dropped_total", dimensions: [("reason", "slow_subscriber")])
    /// Bytes in the socket's send queue thrown away at such a cut.
    let droppedSlowBytes = Counter(label: "herald_slow_subscriber_dropped_bytes_total")
    let slowDisconnects = Counter(label: "herald_slow_subscriber_disconnects_total")
    let exactResumes = Counter(label: "herald_resumes_total", dimensions: [("outcome", "exact")])
    let gapResumes = Counter(label: "herald_resumes_total", dimensions: [("outcome", "gap")])
    /// From the message reaching this node (from the engine) to its write to subscriber sockets.
    let deliveryLatency = Timer(label: "herald_delivery_latency_seconds")
    /// How late an event loop runs a task scheduled on it.
    let eventLoopLag = Timer(label: "herald_event_loop_lag_seconds")
    private let subscriptions: [SubscriberMode: Counter]
    private let connections: [SubscriberMode: Gauge]
    private let authRefusals: [AuthRefusal: Counter]

    init() {
        Gauge(label: "herald_build_info", dimensions: [("version", HeraldVersion.string)]).record(1)
        var subscriptions: [SubscriberMode: Counter] = [:]
        var connections: [SubscriberMode: Gauge] = [:]
        for mode in SubscriberMode.allCases {
            subscriptions[mode] = Counter(label: "herald_subscriptions_total", dimensions: [("mode", mode.rawValue)])
            if mode != .polling {
                connections[mode] = Gauge(
                    label: "herald_subscriber_connections", dimensions: [("transport", mode.rawValue)])
            }
        }
        self.subscriptions = subscriptions
        self.connections = connections
        var authRefusals: [AuthRefusal: Counter] = [:]
        for reason in AuthRefusal.allCases {
            authRefusals[reason] = Counter(
                label: "herald_auth_refusals_total", dimensions: [("reason", reason.rawValue)])
        }
        self.authRefusals = authRefusals
    }

    func subscribed(_ mode: SubscriberMode) {
        subscriptions[mode]?.increment()
    }

    func authRefused(_ error: any Error) {
        authRefusals[AuthRefusal(error as? ProtocolError)]?.increment()
    }

    func resumed(missed: Bool) {
        (missed ? gapResumes : exactResumes).increment()
    }

    /// Records the connections of each transport, as counted by the registry.
    func recordConnections(_ counts: [SubscriberMode: Int]) {
        for (mode, gauge) in connections { gauge.record(counts[mode] ?? 0) }
    }

    /// Time from `start` (`NIODeadline.now()` when the message arrived) to now.
    func recordDeliveryLatency(since start: NIODeadline) {
        deliveryLatency.recordNanoseconds((NIODeadline.now() - start).nanoseconds)
    }
}
