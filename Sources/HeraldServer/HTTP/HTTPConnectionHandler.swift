import HeraldCore
import NIOCore
import NIOHTTP1

/// Serves one HTTP connection: reads a request (body bounded), routes it, answers it.
///
/// Short requests (publish, stats, polling, long-polling) are answered here, with keep-alive.
/// A streaming, EventSource or WebSocket subscriber takes the connection over: the HTTP codec
/// leaves the pipeline and the subscriber writes pre-rendered frames straight to the socket.
final class HTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Names of the HTTP handlers, so a subscriber taking the connection over can remove them.
    static let httpHandlerNames = ["http-handler", "http-errors", "http-pipelining", "request-timeout", "http-encoder"]
    static let decoderName = "http-decoder"

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer?)
        /// The request was refused before its body ended; the rest of it is ignored.
        case discarding
        case responding(keepAlive: Bool)
        /// A long-poll is waiting for a message.
        case waiting(LongPollSubscriber, keepAlive: Bool)
        case handedOver
    }

    let node: NodeContext
    let role: ListenerRole
    private var state = State.idle
    /// The node is stopping: finish the request in flight, then close.
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
        if case .waiting(let subscriber, _) = state { subscriber.unregister() }
        state = .handedOver
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An unparsable request was answered 400 by the protocol error handler; nothing more can be
        // read from this connection, so it ends now rather than at the request timeout.
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A connection that sends no complete request in time is closed; a waiting long-poll is not idle.
        if let event = event as? ShutdownEvent {
            closing = true
            if event == .closeIdle, case .idle = state { context.close(promise: nil) }
            return
        }
        if event is IdleStateHandler.IdleStateEvent {
            switch state {
            case .idle, .receiving, .discarding: context.close(promise: nil)
            default: break
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Reading a request

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .idle = state else { return }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodySize {
                state = .discarding
                respond(head: head, error: .messageTooLarge, close: true)
                return
            }
            state = .receiving(head, nil)
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                // curl and others wait for this before sending a body larger than 1 KiB.
                let interim = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
        case .body(var chunk):
            guard case .receiving(let head, var body) = state else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > maxBodySize {
                state = .discarding
                respond(head: head, error: .messageTooLarge, close: true)
                return
            }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            state = .receiving(head, body)
        case .end:
            switch state {
            case .receiving(let head, let body):
                state = .responding(keepAlive: head.isKeepAlive)
                handle(HTTPRequest(head: head, body: body))
            case .discarding:
                break
            default:
                break
            }
        }
    }

    private var maxBodySize: Int { node.settings.maxMessageSize.bytes }

    private func handle(_ request: HTTPRequest) {
        switch Route.resolve(path: request.path, role: role, publicPublisher: node.settings.publicPublisher) {
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
    func respond(head: HTTPRequestHead, error: ProtocolError, headers: HTTPHeaders = [:], close: Bool = false) {
        var headers = headers
        if let explain = error.explain { headers.replaceOrAdd(name: ResponseHeaders.explain, value: explain) }
        var empty = ByteBuffer()
        respond(
            head: head, status: HTTPResponseStatus(statusCode: error.status), headers: headers, body: &empty,
            close: close)
    }

    func respond(head: HTTPRequestHead, status: HTTPResponseStatus, headers: HTTPHeaders = [:]) {
        var empty = ByteBuffer()
        respond(head: head, status: status, headers: headers, body: &empty)
    }

    /// Writes a complete response with a Content-Length; closes unless the connection stays alive.
    func respond(
        head: HTTPRequestHead, status: HTTPResponseStatus, headers: HTTPHeaders, body: inout ByteBuffer,
        close: Bool = false
    ) {
        guard let context else { return }
        let keepAlive = head.isKeepAlive && !close && !closing
        var headers = headers
        headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        headers.replaceOrAdd(name: ResponseHeaders.node, value: node.settings.identity)
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        // The state changes before the end is written: writing it lets the pipelining handler
        // pass on a request the client already sent, which must find this handler idle.
        if keepAlive {
            if case .discarding = state {} else { state = .idle }
        } else {
            state = .discarding
        }
        let responseHead = HTTPResponseHead(version: head.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    // MARK: Long-polling

    /// A long-poll started waiting; its answer comes through ``finishWaiting``.
    func startWaiting(_ subscriber: LongPollSubscriber, head: HTTPRequestHead) {
        state = .waiting(subscriber, keepAlive: head.isKeepAlive)
    }

    /// The waiting long-poll got its answer (or gave up); the connection may serve the next request.
    func finishWaiting() {
        if case .waiting = state { state = .responding(keepAlive: true) }
    }

    // MARK: Handing the connection over

    /// Replaces the HTTP handlers with `handlers` (the last one a subscriber), forwarding any bytes
    /// the client already sent after its request. Returns false if the connection is gone.
    func handOver(to handlers: [any ChannelHandler]) -> Bool {
        guard let context else { return false }
        state = .handedOver
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
