import NIOCore

/// `/healthz`: the process is alive and its event loops answer (200 while draining too: a
/// liveness check must not restart a node that is shutting down on purpose).
struct HealthEndpoint: Endpoint {
    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        .answer(HTTPAnswer(status: .ok, text: "ok\n", contentType: "text/plain; charset=utf-8"))
    }
}

/// `/readyz`: 200 `ready` when the node should be sent subscribers (its engine connected and
/// delivering, itself registered in the cluster, not draining); else 503 with the reason.
struct ReadinessEndpoint: Endpoint {
    let node: NodeContext

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        let readiness = node.readiness
        return .answer(
            HTTPAnswer(
                status: readiness == .ready ? .ok : .serviceUnavailable, text: "\(readiness.rawValue)\n",
                contentType: "text/plain; charset=utf-8"))
    }
}

/// Any path no endpoint serves.
struct NotFoundEndpoint: Endpoint {
    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        .answer(HTTPAnswer(status: .notFound))
    }
}
