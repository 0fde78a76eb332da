import NIOCore

/// `/metrics`: Prometheus text exposition, when the process set metrics up. Gauges that are
/// states rather than events (connections, channels, readiness, the process) are read now.
struct MetricsEndpoint: Endpoint {
    let node: NodeContext

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        guard let exposition = node.metricsExposition else { return .answer(HTTPAnswer(status: .notFound)) }
        let metrics = node.metrics
        metrics.recordConnections(node.registry.connectionsByMode)
        metrics.subscriptionsNow.record(node.registry.subscriptionCount)
        metrics.hostedChannels.record(node.registry.hostedChannelCount)
        metrics.engineReady.record(node.engine.isReady ? 1 : 0)
        metrics.ready.record(node.readiness == .ready ? 1 : 0)
        for limiter in node.limiters.withLockedValue({ $0 }) { limiter.recordOpenConnections() }
        node.processMetrics.record()
        return .answer(HTTPAnswer(text: exposition(), contentType: "text/plain; version=0.0.4; charset=utf-8"))
    }
}
