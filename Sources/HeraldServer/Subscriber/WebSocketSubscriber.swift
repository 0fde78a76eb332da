import HeraldCore
import NIOCore

/// A WebSocket subscriber (RFC 6455, versions 8 and 13). Server frames are pre-rendered and
/// shared; client frames are reassembled, UTF-8 checked and, when allowed, published.
///
/// It reads client frames off the socket itself rather than behind NIO's frame decoder: the
/// decoder's handler, buffers and pipeline slot cost every idle subscriber about half a KiB, for
/// the odd pong or close frame.
final class WebSocketSubscriber: LiveSubscriber, ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
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
    /// The start of a client frame whose rest has not arrived; a copy, so NIO reuses its read buffer.
    private var unread: ByteBuffer?
    /// With grants required: the channels this subscriber's grant lets it publish to (nil: no
    /// grant needed, every channel of the subscription).
    private var publishable: Set<String>?

    init(loop: any EventLoop, registry: SubscriberRegistry, channels: [ChannelSubscription]) {
        super.init(mode: .webSocket, loop: loop, registry: registry, channels: channels)
    }

    private var settings: NodeSettings { registry.renderer.settings }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Completes the handshake, then joins the channels once they are validated. push-stream
    /// validates after the `101`, reporting refusals in a close frame (1008 with the HTTP status).
    func beginAfterValidation(
        _ validation: EventLoopFuture<Grant?>, responseHead: ByteBuffer, connectionTTL: TimeSpan?
    ) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(responseHead), promise: nil)
        wroteSincePing = true
        validation.hop(to: loop).assumeIsolated().whenComplete { [self] result in
            guard !finished else { return }
            switch result {
            case .failure(let error):
                refuse((error as? ProtocolError) ?? .engineUnavailable)
            case .success(let grant):
                admit(grant)
                if let grant { publishable = Set(channelNames.filter(grant.allowsPublishing(to:))) }
                if let header = registry.renderer.header(for: .webSocket) {
                    send(WebSocketFraming.frame(.text, payload: header))
                }
                if let connectionTTL { deadline = .now() + .milliseconds(connectionTTL.milliseconds) }
                start().assumeIsolated().whenFailure { [self] _ in finish(sendFooter: true) }
            }
        }
    }

    // MARK: Client frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if var held = unread {
            unread = nil
            held.writeBuffer(&input)
            input = held
        }
        while !finished {
            let frame: WebSocketFraming.ClientFrame
            do {
                guard let next = try WebSocketFraming.readClientFrame(from: &input, maxSize: maxMessageSize) else {
                    break
                }
                frame = next
            } catch .tooLarge {
                return close(code: .messageTooBig, reason: [])
            } catch {
                return close(code: .protocolError, reason: [])
            }
            receive(frame, context: context)
        }
        if !finished && input.readableBytes > 0 {
            var held = context.channel.allocator.buffer(capacity: input.readableBytes)
            held.writeBuffer(&input)
            unread = held
        }
    }

    private var maxMessageSize: Int { settings.maxMessageSize.bytes }

    private func receive(_ frame: WebSocketFraming.ClientFrame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case WebSocketFraming.Opcode.text.rawValue:
            fragments = []
            append(frame)
        case WebSocketFraming.Opcode.continuation.rawValue:
            guard fragments != nil else { return close(code: .protocolError, reason: []) }
            append(frame)
        case WebSocketFraming.Opcode.ping.rawValue:
            send(WebSocketFraming.frame(.pong, payload: frame.payload))
        case WebSocketFraming.Opcode.pong.rawValue:
            break
        case WebSocketFraming.Opcode.close.rawValue:
            finished = true
            unregister()
            writeOutgoing(to: context)
            close(context, once: context.writeAndFlush(wrapOutboundOut(WebSocketFraming.frame(.close, payload: []))))
        default:
            close(code: .unsupportedData, reason: [])
        }
    }

    private func append(_ frame: WebSocketFraming.ClientFrame) {
        fragments! += frame.payload
        guard fragments!.count <= maxMessageSize else { return close(code: .messageTooBig, reason: []) }
        guard frame.fin else { return }
        let message = fragments!
        fragments = nil
        guard String(validating: message, as: UTF8.self) != nil else {
            return close(code: .invalidPayload, reason: [])
        }
        guard settings.websocketAllowPublish, !message.isEmpty else { return }
        let events = registry.renderer.settings.eventsChannelID
        let targets = channelNames.filter { $0 != events && publishable?.contains($0) != false }
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
        if !context.channel.isWritable { outputOverflowed(context) }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(code: .protocolError, reason: [])
    }

    // MARK: Server frames

    override func emit(_ rendered: RenderedMessage, catchUp: Bool) {
        send(rendered.webSocket ?? registry.renderer.webSocket(rendered.message))
    }

    private func send(_ buffer: ByteBuffer) {
        guard !finished else { return }
        queue(buffer)
    }

    override func flushOutput() {
        writeOutgoing(to: context)
        context?.flush()
    }

    override func ping() {
        send(WebSocketFraming.frame(.ping, payload: []))
    }

    /// The node is stopping: the footer, then close 1012 (service restart) so the client reconnects.
    override func shutdown() {
        guard !finished else { return }
        sendFooter()
        close(code: .serviceRestart, reason: [])
    }

    /// The grant ran out: the notice frame, the footer, then the close push-stream gives a refusal.
    override func grantExpired() {
        guard !finished else { return }
        emit(registry.renderer.render(grantNotice, for: .webSocket), catchUp: false)
        sendFooter()
        refuse(.grantExpired)
    }

    /// Closes with 1008 and the refusal as push-stream words it: `{"http_status": …, "explain":"…"}`.
    private func refuse(_ refusal: ProtocolError) {
        var reason = #"{"http_status": \#(refusal.status), "explain":""#
        reason += (refusal.explain ?? "") + #""}"#
        close(code: .policyViolation, reason: Array(reason.utf8))
    }

    override func finish(sendFooter: Bool) {
        guard !finished else { return }
        if sendFooter { self.sendFooter() }
        close(code: nil, reason: [])
    }

    private func sendFooter() {
        if let footer = registry.renderer.footer(for: .webSocket) {
            send(WebSocketFraming.frame(.text, payload: footer))
        }
    }

    /// Sends a close frame (empty, or with a code and reason), then closes the connection once it
    /// is flushed, or after the close timeout for a client that stopped reading.
    private func close(code: CloseCode?, reason: [UInt8]) {
        guard !finished, let context else { return }
        finished = true
        unregister()
        writeOutgoing(to: context)
        let frame =
            code.map { WebSocketFraming.close(code: $0.rawValue, reason: reason) }
            ?? WebSocketFraming.frame(.close, payload: [])
        close(context, once: context.writeAndFlush(wrapOutboundOut(frame)))
    }
}
