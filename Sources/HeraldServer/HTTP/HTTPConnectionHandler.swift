import HeraldCore
import NIOCore
import NIOHTTP1

/// Serves one HTTP connection by carrying out what its ``ConnectionStateMachine`` decides:
/// starting endpoints, writing their answers in order, holding reads, closing.
///
/// This is the one place that knows the connection may be gone: an endpoint's outcome that
/// arrives after the close is dropped here. A subscriber that takes the connection over replaces
/// the HTTP handlers (this one among them) and writes pre-rendered frames straight to the socket.
final class HTTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, DeadlineTarget {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Names of the HTTP handlers, so a subscriber taking the connection over can remove them.
    static let decoderName = "http-decoder"
    static let encoderName = "http-encoder"
    static let handlerName = "http-handler"
    /// The order they are removed in: the decoder goes last, since on removal it forwards bytes
    /// already read to the new handlers. One array for every connection, not one made per takeover.
    static let handOverRemovals = [handlerName, encoderName, decoderName]

    let node: NodeContext
    let role: ListenerRole
    private var machine: ConnectionStateMachine
    private var context: ChannelHandlerContext?
    /// Cancels the work of exchanges still waiting (a long-poll), if the connection goes first.
    private var cancellations: [(ConnectionStateMachine.ExchangeID, () -> Void)] = []
    /// The last answer's write, which a close waits for (a bounded time).
    private var lastWrite: EventLoopFuture<Void>?
    /// Actions are carried out one at a time, in order, also when an endpoint answers at once.
    private var running = false
    /// The machine's pending wake-up, in the loop's ``LoopDeadlines``. Cancelled when the handler
    /// leaves the pipeline: it holds this handler (its machine, the request heads) until the request
    /// deadline, which for a subscriber that took the connection over would be memory kept per idle
    /// connection for nothing.
    private var wakeUp: (deadlines: LoopDeadlines, id: UInt64)?
    /// Admin requests being served, for their log line once answered (empty on the public listener).
    private var adminRequests: [(id: ConnectionStateMachine.ExchangeID, log: AdminRequestLog)] = []

    init(node: NodeContext, role: ListenerRole) {
        self.node = node
        self.role = role
        let settings = node.settings
        machine = ConnectionStateMachine(
            configuration: .init(
                maxPipelinedRequests: settings.maxPipelinedRequests, maxBodySize: settings.maxMessageSize.bytes,
                requestTimeout: .milliseconds(settings.requestTimeout.milliseconds)),
            now: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        node.connections.track(context.channel)
        run()
    }

    /// The connection closed, or a subscriber took it over (and the registry tracks it).
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        if let wakeUp { wakeUp.deadlines.cancel(wakeUp.id) }
        wakeUp = nil
        node.connections.untrack(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        machine.closed()
        cancelWaiting()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An unparsable request: nothing more can be read from this connection.
        guard let error = error as? HTTPParserError else { return context.close(promise: nil) }
        machine.parseFailed(error == .headerOverflow ? .headersTooLarge : .malformedRequest)
        run()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ShutdownEvent else { return context.fireUserInboundEventTriggered(event) }
        machine.shutdown(closeIdle: event == .closeIdle)
        run()
    }

    func read(context: ChannelHandlerContext) {
        machine.readRequested()
        run()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let route = Route.resolve(
                path: head.uri.pathPart, role: role, publicPublisher: node.settings.publicPublisher)
            machine.receivedHead(head, route: route)
        case .body(let chunk):
            machine.receivedBody(chunk)
        case .end:
            machine.receivedEnd()
        }
        run()
    }

    // MARK: Carrying out actions

    private func run() {
        guard !running else { return }
        running = true
        defer { running = false }
        while let context, let action = machine.nextAction() {
            perform(action, context: context)
        }
    }

    private func perform(_ action: ConnectionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .sendContinue(let version):
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .continue))))
                .whenComplete { _ in }
        case .startExchange(let id, var request, let route):
            request.remoteAddress = context.channel.remoteAddress
            start(id, request: request, route: route, on: context.eventLoop)
        case .writeAnswer(let answer, let version, let keepAlive):
            lastWrite = write(answer, version: version, keepAlive: keepAlive, context: context)
        case .flush:
            context.flush()
        case .close:
            context.flush()
            ConnectionClosing.close(context.channel, after: lastWrite, timeout: node.settings.closeTimeout)
        case .read:
            context.read()
        case .scheduleDeadline(let time):
            let deadlines = wakeUp?.deadlines ?? node.registry.shard(on: context.eventLoop).deadlines
            if let wakeUp { deadlines.cancel(wakeUp.id) }
            wakeUp = (deadlines, deadlines.schedule(at: time, self))
        }
    }

    func deadlineCame() {
        wakeUp = nil
        machine.deadlinePassed(now: .now())
        run()
    }

    private func start(
        _ id: ConnectionStateMachine.ExchangeID, request: HTTPRequest, route: Route, on loop: any EventLoop
    ) {
        if role == .admin {
            adminRequests.append((id, AdminRequestLog(request, route: route, remote: request.remoteAddress)))
        }
        switch route.endpoint(node: node).serve(request, on: loop) {
        case .now(let outcome):
            finish(id, outcome)
        case .later(let future, let cancel):
            awaitOutcome(id, future, cancel: cancel) { $0 }
        case .laterAnswer(let future, let cancel):
            awaitOutcome(id, future, cancel: cancel) { .answer($0) }
        }
    }

    /// The one place an outcome meets a connection that may be gone: it is dropped then.
    private func awaitOutcome<Value>(
        _ id: ConnectionStateMachine.ExchangeID, _ future: EventLoopFuture<Value>, cancel: (() -> Void)?,
        outcome: @escaping (Value) -> EndpointOutcome
    ) {
        if let cancel { cancellations.append((id, cancel)) }
        future.assumeIsolated().whenComplete { [self] result in
            if !cancellations.isEmpty { cancellations.removeAll { $0.0 == id } }
            guard context != nil, !machine.isDone else { return }
            switch result {
            case .success(let value): finish(id, outcome(value))
            case .failure(let error): finish(id, .answer(HTTPAnswer(failure: error)))
            }
        }
    }

    private func finish(_ id: ConnectionStateMachine.ExchangeID, _ outcome: EndpointOutcome) {
        if let index = adminRequests.firstIndex(where: { $0.id == id }) {
            let status = if case .answer(let answer) = outcome { answer.status } else { HTTPResponseStatus.ok }
            adminRequests.remove(at: index).log.answered(status, logger: node.logger)
        }
        switch outcome {
        case .answer(let answer):
            machine.answerReady(id, answer, now: .now())
            run()
        case .takeOver(let takeOver):
            handOver(id, to: takeOver)
        }
    }

    /// Every answer's headers: its length, the node that answered, no content sniffing, and
    /// `Connection: close` when the connection ends with it.
    /// - Returns: the future of the answer's last write.
    private func write(
        _ answer: HTTPAnswer, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext
    ) -> EventLoopFuture<Void> {
        var headers = answer.headers
        // Endpoints leave these three to the connection (HTTPAnswer), so they are added, not
        // searched for first.
        headers.add(name: "Content-Length", value: String(answer.body.readableBytes))
        ResponseHeaders.addCommon(identity: node.settings.identity, to: &headers)
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        // Only the last part's completion is awaited; the others need no promise of their own.
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: answer.status, headers: headers))),
            promise: nil)
        if answer.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
        }
        return context.write(wrapOutboundOut(.end(nil)))
    }

    private func cancelWaiting() {
        let waiting = cancellations
        cancellations = []
        for (_, cancel) in waiting { cancel() }
    }

    // MARK: Handing the connection over

    /// Replaces the HTTP handlers with the subscriber's, forwarding any bytes the client already
    /// sent after its request, then lets the subscriber begin.
    private func handOver(_ id: ConnectionStateMachine.ExchangeID, to takeOver: SubscriberTakeOver) {
        guard let context else { return }
        guard case .granted(let releaseRead) = machine.takeOver(id) else {
            machine.answerReady(id, HTTPAnswer(error: .malformedRequest, closesConnection: true), now: .now())
            return run()
        }
        let pipeline = context.pipeline.syncOperations
        do {
            try pipeline.addHandlers(takeOver.handlers)
            for name in Self.handOverRemovals {
                _ = pipeline.removeHandler(name: name)
            }
        } catch {
            context.close(promise: nil)
            return
        }
        // The subscriber reads from here on (WebSocket frames, or the close of an SSE client).
        if releaseRead { context.channel.read() }
        takeOver.begin()
    }
}

extension String {
    /// The path of a request target, without its query.
    var pathPart: Substring {
        let uri = self[...]
        return uri.firstIndex(of: "?").map { uri[..<$0] } ?? uri
    }
}
