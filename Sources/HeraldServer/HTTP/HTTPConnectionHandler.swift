import HeraldCore
import NIOCore
import NIOHTTP1

/// Serves one HTTP connection: reads requests (bodies bounded), routes them, answers them in order.
///
/// Short requests (publish, stats, polling, long-polling) are answered here, with keep-alive.
/// Pipelined publishes run side by side, so a publisher's messages reach the engine (and its
/// subscribers) together; every other request waits for the answers before it and runs alone.
/// A streaming, EventSource or WebSocket subscriber takes the connection over: the HTTP codec
/// leaves the pipeline and the subscriber writes pre-rendered frames straight to the socket.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Names of the HTTP handlers, so a subscriber taking the connection over can remove them.
    static let httpHandlerNames = ["http-handler", "request-timeout", "http-encoder"]
    static let decoderName = "http-decoder"

    private enum Reading {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer?)
        /// The connection ends after the answers in flight (a refused request, `Connection: close`).
        case discarding
    }

    /// A request and, once it is ready, its answer. Answers leave in request order.
    private struct Exchange {
        let number: Int
        let request: HTTPRequest
        let route: Route
        var started = false
        var answer: Answer?

        /// A publish: may run while earlier publishes are in flight.
        var isPublish: Bool {
            guard case .publisher = route else { return false }
            return request.head.method == .POST || request.head.method == .PUT
        }
    }

    private struct Answer {
        var head: HTTPResponseHead
        var body: ByteBuffer
        var keepAlive: Bool
    }

    let node: NodeContext
    let role: ListenerRole
    private var reading = Reading.idle
    private var exchanges = CircularBuffer<Exchange>(initialCapacity: 2)
    private var nextNumber = 0
    /// The exchange whose handler is running right now (publishes capture it for their answers).
    private(set) var current: Int?
    private var starting = false
    private var handedOver = false
    /// A long-poll waiting for a message.
    private var waiting: LongPollSubscriber?
    /// A read the channel asked for while too many requests were queued.
    private var readHeld = false
    /// The node is stopping: finish the requests in flight, then close.
    private var closing = false
    private(set) var context: ChannelHandlerContext?

    init(node: NodeContext, role: ListenerRole) {
        self.node = node
        self.role = role
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        node.connections.track(context.channel)
    }

    /// The connection closed, or a subscriber took it over (and the registry tracks it).
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        node.connections.untrack(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting?.unregister()
        waiting = nil
        handedOver = true
        exchanges.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An unparsable request: nothing more can be read from this connection. It is answered 400
        // (431 for oversized headers) after the answers still owed, then the connection ends.
        guard error is HTTPParserError, !handedOver else { return context.close(promise: nil) }
        if case .discarding = reading { return }  // already ending after the answers owed
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
        let refusal = error as? HTTPParserError == .headerOverflow ? ProtocolError.headersTooLarge : .malformedRequest
        refuse(head, error: refusal)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A connection that sends no complete request in time is closed; one with requests in
        // flight (a waiting long-poll, a publish) is not idle.
        if let event = event as? ShutdownEvent {
            closing = true
            if event == .closeIdle, exchanges.isEmpty { context.close(promise: nil) }
            return
        }
        if event is IdleStateHandler.IdleStateEvent {
            if exchanges.isEmpty { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Pipelined requests beyond the limit wait in the socket: reading resumes as answers leave.
    func read(context: ChannelHandlerContext) {
        if exchanges.count >= node.settings.maxPipelinedRequests {
            readHeld = true
        } else {
            context.read()
        }
    }

    // MARK: Reading a request

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !handedOver else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = reading else { return }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodySize {
                return refuse(head, error: .messageTooLarge)
            }
            reading = .receiving(head, nil)
            if head.headers.first(name: "expect")?.lowercased() == "100-continue", exchanges.isEmpty {
                // curl and others wait for this before sending a body larger than 1 KiB. With answers
                // still owed, an interim response would jump the queue: the client sends on its own.
                let interim = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
        case .body(var chunk):
            guard case .receiving(let head, var body) = reading else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > maxBodySize {
                return refuse(head, error: .messageTooLarge)
            }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            reading = .receiving(head, body)
        case .end:
            guard case .receiving(let head, let body) = reading else { return }
            reading = head.isKeepAlive ? .idle : .discarding
            let request = HTTPRequest(head: head, body: body)
            let route = Route.resolve(path: request.path, role: role, publicPublisher: node.settings.publicPublisher)
            exchanges.append(Exchange(number: nextNumber, request: request, route: route))
            nextNumber += 1
            startReady()
        }
    }

    private var maxBodySize: Int { node.settings.maxMessageSize.bytes }

    /// Refuses a request before its body is read; the connection ends after the answers before it.
    private func refuse(_ head: HTTPRequestHead, error: ProtocolError) {
        reading = .discarding
        exchanges.append(
            Exchange(number: nextNumber, request: HTTPRequest(head: head), route: .notFound, started: true))
        nextNumber += 1
        respond(head: head, error: error, close: true, to: nextNumber - 1)
    }

    /// Starts the requests that may run now: the first one waiting, and publishes behind publishes.
    private func startReady() {
        guard !starting else { return }
        starting = true
        defer { starting = false }
        while !handedOver, context != nil, let index = exchanges.firstIndex(where: { !$0.started }) {
            let onlyPublishesBefore = exchanges[exchanges.startIndex..<index].allSatisfy(\.isPublish)
            guard index == exchanges.startIndex || (exchanges[index].isPublish && onlyPublishesBefore) else { return }
            exchanges[index].started = true
            current = exchanges[index].number
            handle(exchanges[index].request, route: exchanges[index].route)
            current = nil
        }
    }

    private func handle(_ request: HTTPRequest, route: Route) {
        switch route {
        case .subscriber(let mode, let channelsPath, let forceArguments):
            handleSubscriber(request, mode: mode, channelsPath: channelsPath, forceArguments: forceArguments)
        case .publisher(let admin):
            handlePublisher(request, admin: admin)
        case .stats:
            handleStats(request)
        case .health:
            handleHealth(request)
        case .cluster:
            handleCluster(request)
        case .metrics:
            handleMetrics(request)
        case .notFound:
            respond(head: request.head, status: .notFound)
        }
    }

    private func handleHealth(_ request: HTTPRequest) {
        let ready = !node.isDraining && node.engine.isReady
        var body = ByteBuffer(string: ready ? "ok\n" : "draining\n")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        respond(head: request.head, status: ready ? .ok : .serviceUnavailable, headers: headers, body: &body)
    }

    // MARK: Writing a response

    /// Answers with a header-only refusal carrying the explain text.
    /// - Parameter exchange: the request answered (``current`` when it started); default: the first
    ///   request in flight, the only one unless publishes run side by side.
    func respond(
        head: HTTPRequestHead, error: ProtocolError, headers: HTTPHeaders = [:], close: Bool = false,
        to exchange: Int? = nil
    ) {
        var headers = headers
        if let explain = error.explain { headers.replaceOrAdd(name: ResponseHeaders.explain, value: explain) }
        var empty = ByteBuffer()
        respond(
            head: head, status: HTTPResponseStatus(statusCode: error.status), headers: headers, body: &empty,
            close: close, to: exchange)
    }

    func respond(head: HTTPRequestHead, status: HTTPResponseStatus, headers: HTTPHeaders = [:], to exchange: Int? = nil)
    {
        var empty = ByteBuffer()
        respond(head: head, status: status, headers: headers, body: &empty, to: exchange)
    }

    /// Answers a request with a Content-Length; the answer leaves once every earlier one has.
    func respond(
        head: HTTPRequestHead, status: HTTPResponseStatus, headers: HTTPHeaders, body: inout ByteBuffer,
        close: Bool = false, to exchange: Int? = nil
    ) {
        guard context != nil, !handedOver else { return }
        let number = exchange ?? exchanges.first?.number
        guard let index = exchanges.firstIndex(where: { $0.number == number }), exchanges[index].answer == nil else {
            return
        }
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        headers.replaceOrAdd(name: ResponseHeaders.node, value: node.settings.identity)
        exchanges[index].answer = Answer(
            head: HTTPResponseHead(version: head.version, status: status, headers: headers), body: body,
            keepAlive: head.isKeepAlive && !close)
        writeAnswers()
    }

    /// Writes the answers that are next in order, in one flush; closes after one that ends the
    /// connection; then starts what waited for them.
    private func writeAnswers() {
        guard let context else { return }
        var wrote = false
        while let first = exchanges.first, var answer = first.answer {
            exchanges.removeFirst()
            // A stopping node answers what is in flight, then closes with the last answer.
            let keepAlive = answer.keepAlive && !(closing && exchanges.isEmpty)
            if !keepAlive { answer.head.headers.replaceOrAdd(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(answer.head)), promise: nil)
            if answer.body.readableBytes > 0 {
                context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
            }
            if !keepAlive {
                reading = .discarding
                exchanges.removeAll()
                let done = context.eventLoop.makePromise(of: Void.self)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
                done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                return
            }
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            wrote = true
        }
        guard wrote else { return }
        context.flush()
        startReady()
        if readHeld, !handedOver, exchanges.count < node.settings.maxPipelinedRequests {
            readHeld = false
            context.read()
        }
    }

    // MARK: Long-polling

    /// A long-poll started waiting; its answer comes through ``finishWaiting``.
    func startWaiting(_ subscriber: LongPollSubscriber) {
        waiting = subscriber
    }

    /// The waiting long-poll got its answer (or gave up).
    func finishWaiting() {
        waiting = nil
    }

    // MARK: Handing the connection over

    /// Replaces the HTTP handlers with `handlers` (the last one a subscriber), forwarding any bytes
    /// the client already sent after its request. Returns false if the connection is gone.
    func handOver(to handlers: [any ChannelHandler]) -> Bool {
        guard let context else { return false }
        handedOver = true
        exchanges.removeAll()
        // The subscriber reads from here on (WebSocket frames, or the close of an SSE client).
        if readHeld {
            readHeld = false
            context.read()
        }
        let pipeline = context.pipeline.syncOperations
        do {
            try pipeline.addHandlers(handlers)
            // The decoder goes last: on removal it forwards bytes already read to the new handlers.
            for name in Self.httpHandlerNames + [Self.decoderName] {
                _ = pipeline.removeHandler(name: name)
            }
            return true
        } catch {
            context.close(promise: nil)
            return false
        }
    }
}
