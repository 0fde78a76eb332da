import NIOCore

/// One kind of request the node serves (publisher, subscriber, stats …): a parsed request and the
/// node in, an outcome out. An endpoint never sees the connection: the handler binds its outcome
/// to the request's exchange, and drops it if the connection is gone by then.
protocol Endpoint {
    /// Serves `request` on `loop`, the connection's event loop; every future it returns completes there.
    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult
}

/// What an endpoint made of a request.
enum EndpointOutcome {
    /// An answer, written in request order.
    case answer(HTTPAnswer)
    /// A live subscriber takes the connection over (streaming, EventSource, WebSocket).
    case takeOver(SubscriberTakeOver)
}

/// An outcome now, or later.
enum EndpointResult {
    case now(EndpointOutcome)
    /// `cancel` runs if the connection goes away first (a waiting long-poll leaves its channels).
    case later(EventLoopFuture<EndpointOutcome>, cancel: (() -> Void)? = nil)
    /// An answer that comes later (publishes, polls): no take-over possible, one future less.
    case laterAnswer(EventLoopFuture<HTTPAnswer>, cancel: (() -> Void)? = nil)

    static func answer(_ answer: HTTPAnswer) -> EndpointResult { .now(.answer(answer)) }

    /// An answer that comes later.
    static func answer(_ future: EventLoopFuture<HTTPAnswer>, cancel: (() -> Void)? = nil) -> EndpointResult {
        .laterAnswer(future, cancel: cancel)
    }
}

/// The handlers that replace the HTTP codec once a subscriber owns the connection, and what to do
/// once they are in place (send the response head, join the channels).
struct SubscriberTakeOver {
    var handlers: [any ChannelHandler]
    var begin: () -> Void
}
