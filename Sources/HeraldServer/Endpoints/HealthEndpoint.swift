import NIOCore

/// `/healthz`: 200 while the node serves and its engine is ready, 503 while draining or disconnected.
struct HealthEndpoint: Endpoint {
    let node: NodeContext

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        let ready = !node.isDraining && node.engine.isReady
        return .answer(
            HTTPAnswer(
                status: ready ? .ok : .serviceUnavailable, text: ready ? "ok\n" : "draining\n",
                contentType: "text/plain; charset=utf-8"))
    }
}

/// Any path no endpoint serves.
struct NotFoundEndpoint: Endpoint {
    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        .answer(HTTPAnswer(status: .notFound))
    }
}
