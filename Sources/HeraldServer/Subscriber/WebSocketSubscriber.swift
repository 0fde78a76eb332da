import HeraldCore
import NIOCore
import NIOWebSocket

/// A WebSocket subscriber (RFC 6455, versions 8 and 13). Server frames are pre-rendered and
/// shared; client frames are reassembled, UTF-8 checked and, when allowed, published.
final class WebSocketSubscriber: LiveSubscriber, ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    /// Close codes of RFC 6455 §7.4.1.
    enum CloseCode: UInt16 {
        case protocolError = 1002
        case unsupportedData = 1003
        case invalidPayload = 1007
        case policyViolation = 1008
        case messageTooBig = 1009
        /// The node is restarting: reconnect (to another node).
        case serviceRestart = 1012
    }

    // The flag first: it fills the end of the superclass's fields (see LiveSubscriber).
    private var finished = false
    private var context: ChannelHandlerContext?
    /// A text message arriving in fragments.
    private var fragments: [UInt8]?

    init(loop: any EventLoop, registry: SubscriberRegistry, channels: [ChannelSubscription]) {
        super.init(mode: .webSocket, loop: loop, registry: registry, channels: channels)
    }

    private var settings: NodeSettings { registry.renderer.settings }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Completes the handshake, then joins the channels once they are validated. push-stream
    /// validates after the `101`, reporting refusals in a close frame (1008 with the HTTP status).
    func beginAfterValidation(_ validation: EventLoopFuture<Void>, responseHead: String, connectionTTL: TimeSpan?) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: responseHead)), promise: nil)
        wroteSincePing = true
        validation.hop(to: loop).assumeIsolated().whenComplete { [self] result in
            guard !finished else { return }
            switch result {
            case .failure(let error):
                let refusal = (error as? ProtocolError) ?? .engineUnavailable
                var reason = #"{"http_status": \#(refusal.status), "explain":""#
                reason += (refusal.explain ?? "") + #""}"#
                close(code: .policyViolation, reason: Array(reason.utf8))
            case .success:
                let templates = registry.renderer.settings.templates(for: .webSocket)
                if let header = templates.header, !header.isEmpty {
                    send(WebSocketFraming.frame(.text, payload: Array(header.utf8)))
                }
                if let connectionTTL { deadline = .now() + .milliseconds(connectionTTL.milliseconds) }
                start().assumeIsolated().whenFailure { [self] _ in finish(sendFooter: true) }
            }
        }
    }

    // MARK: Client frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            fragments = []
            append(frame)
        case .continuation:
            guard fragments != nil else { return close(code: .protocolError, reason: []) }
            append(frame)
        case .ping:
            send(WebSocketFraming.frame(.pong, payload: frame.unmaskedData.readableBytesView))
        case .pong:
            break
        case .connectionClose:
            finished = true
            unregister()
            context.writeAndFlush(wrapOutboundOut(WebSocketFraming.frame(.close, payload: [])))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        default:
            close(code: .unsupportedData, reason: [])
        }
    }

    private func append(_ frame: WebSocketFrame) {
        fragments! += frame.unmaskedData.readableBytesView
        guard fragments!.count <= settings.maxMessageSize.bytes else { return close(code: .messageTooBig, reason: []) }
        guard frame.fin else { return }
        let message = fragments!
        fragments = nil
        guard String(validating: message, as: UTF8.self) != nil else {
            return close(code: .invalidPayload, reason: [])
        }
        guard settings.websocketAllowPublish, !message.isEmpty else { return }
        let events = registry.renderer.settings.eventsChannelID
        let targets = channelNames.filter { $0 != events }
        guard !targets.isEmpty else { return }
        let request = PublishRequest(
            channels: targets, text: message, store: registry.renderer.settings.storeMessages)
        _ = registry.engine.publish(request, on: loop)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished = true
        unregister()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable { overflow() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOWebSocketError, error == .invalidFrameLength {
            return close(code: .messageTooBig, reason: [])
        }
        close(code: .protocolError, reason: [])
    }

    // MARK: Server frames

    override func emit(_ rendered: RenderedMessage, catchUp: Bool) {
        send(rendered.webSocket ?? registry.renderer.webSocket(rendered.message))
    }

    private func send(_ buffer: ByteBuffer) {
        guard !finished else { return }
        wroteSincePing = true
        context?.write(wrapOutboundOut(buffer), promise: nil)
        requestFlush()
    }

    override func flushOutput() {
        context?.flush()
    }

    override func ping() {
        send(WebSocketFraming.frame(.ping, payload: []))
    }

    /// The node is stopping: the footer, then close 1012 (service restart) so the client reconnects.
    override func shutdown() {
        guard !finished else { return }
        if let footer = registry.renderer.settings.templates(for: .webSocket).footer, !footer.isEmpty {
            send(WebSocketFraming.frame(.text, payload: Array(footer.utf8)))
        }
        close(code: .serviceRestart, reason: [])
    }

    override func finish(sendFooter: Bool) {
        guard !finished else { return }
        if sendFooter, let footer = registry.renderer.settings.templates(for: .webSocket).footer, !footer.isEmpty {
            send(WebSocketFraming.frame(.text, payload: Array(footer.utf8)))
        }
        close(code: nil, reason: [])
    }

    /// Sends a close frame (empty, or with a code and reason), then closes the connection.
    private func close(code: CloseCode?, reason: [UInt8]) {
        guard !finished, let context else { return }
        finished = true
        unregister()
        let frame =
            code.map { WebSocketFraming.close(code: $0.rawValue, reason: reason) }
            ?? WebSocketFraming.frame(.close, payload: [])
        context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
