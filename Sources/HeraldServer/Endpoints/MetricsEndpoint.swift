import NIOCore

/// `/metrics`: Prometheus text exposition, when the process set metrics up.
struct MetricsEndpoint: Endpoint {
    let node: NodeContext

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        guard let exposition = node.metricsExposition else { return .answer(HTTPAnswer(status: .notFound)) }
        let metrics = node.metrics
        metrics.subscriberConnections.record(node.registry.connectionCount)
        metrics.hostedChannels.record(node.registry.localSubscriberCounts().count)
        metrics.engineReady.record(node.engine.isReady ? 1 : 0)
        return .answer(HTTPAnswer(text: exposition(), contentType: "text/plain; version=0.0.4; charset=utf-8"))
    }
}
