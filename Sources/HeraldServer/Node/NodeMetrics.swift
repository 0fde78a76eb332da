import Metrics

/// The node's metrics, through swift-metrics (Prometheus in `herald serve`, at `/metrics`).
/// Names follow OpenTelemetry style; labels are bounded (modes and outcomes, never channel names).
final class NodeMetrics: Sendable {
    let misroutedSubscribers = Counter(label: "herald_misrouted_subscribers_total")
    let publishes = Counter(label: "herald_publishes_total", dimensions: [("result", "ok")])
    let failedPublishes = Counter(label: "herald_publishes_total", dimensions: [("result", "error")])
    let subscriberConnections = Gauge(label: "herald_subscriber_connections")
    let hostedChannels = Gauge(label: "herald_hosted_channels")
    let clusterMembers = Gauge(label: "herald_cluster_members")
    let engineReady = Gauge(label: "herald_engine_ready")
    private let subscriptions: [SubscriberMode: Counter]

    init() {
        var subscriptions: [SubscriberMode: Counter] = [:]
        for mode in SubscriberMode.allCases {
            subscriptions[mode] = Counter(label: "herald_subscriptions_total", dimensions: [("mode", mode.rawValue)])
        }
        self.subscriptions = subscriptions
    }

    func subscribed(_ mode: SubscriberMode) {
        subscriptions[mode]?.increment()
    }
}
