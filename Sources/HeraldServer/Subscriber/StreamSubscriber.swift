import HeraldCore
import NIOCore

/// A streaming (forever-iframe) or EventSource subscriber. Once its response head is sent it owns
/// the connection: frames go straight to the socket, already chunk-framed.
final class StreamSubscriber: LiveSubscriber, ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    // The flags first: they fill the end of the superclass's fields (see LiveSubscriber).
    private let chunked: Bool
    private var finished = false
    private var context: ChannelHandlerContext?

    init(
        mode: SubscriberMode, loop: any EventLoop, registry: SubscriberRegistry, channels: [ChannelSubscription],
        chunked: Bool
    ) {
        self.chunked = chunked
        super.init(mode: mode, loop: loop, registry: registry, channels: channels)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Sends the response head and header template, then joins the channels.
    func begin(responseHead: ByteBuffer, connectionTTL: TimeSpan?) {
        guard let context else { return }
        context.write(wrapOutboundOut(responseHead), promise: nil)
        if let header = registry.renderer.header(for: mode) {
            write(header)
        } else {
            context.flush()
        }
        if let connectionTTL { deadline = .now() + .milliseconds(connectionTTL.milliseconds) }
        start().assumeIsolated().whenFailure { [self] _ in finish(sendFooter: true) }
    }

    // MARK: Connection events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A subscriber has nothing more to say; whatever it sends is dropped.
    }

    func channelInactive(context: ChannelHandlerContext) {
        finished = true
        unregister()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Unflushed output passed --max-subscriber-buffer: let the client go; it resumes from the backlog.
        if !context.channel.isWritable { outputOverflowed(context) }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finished = true
        unregister()
        context.close(promise: nil)
    }

    // MARK: Writing

    override func emit(_ rendered: RenderedMessage, catchUp: Bool) {
        guard let context, !finished else { return }
        switch mode {
        case .eventSource:
            let frame = rendered.eventSource ?? registry.renderer.eventSource(rendered.message, cursor: nil)
            if isSingleChannel || rendered.message.id <= 0 {
                queue(chunked ? frame.buffer : frame.payload)
            } else {
                // Several channels: the `id:` line is this connection's own cursor; the rest is shared.
                var idLine: [UInt8] = []
                EventSourceFormat.idLine(cursor.description, into: &idLine)
                var head = context.channel.allocator.buffer(capacity: idLine.count + 8)
                if chunked { ChunkedEncoding.writeChunkHeader(size: idLine.count + frame.bodyLength, into: &head) }
                head.writeBytes(idLine)
                queue(head)
                queue(chunked ? frame.body : frame.body.getSlice(at: frame.body.readerIndex, length: frame.bodyLength)!)
            }
        default:
            let frame = rendered.streaming ?? registry.renderer.streaming(rendered.message)
            queue(chunked ? frame.buffer : frame.payload)
        }
    }

    override func flushOutput() {
        writeOutgoing(to: context)
        context?.flush()
    }

    /// Writes unframed bytes as one chunk.
    private func write(_ bytes: [UInt8]) {
        queue(chunked ? ChunkedEncoding.frame(bytes).buffer : ByteBuffer(bytes: bytes))
    }

    override func ping() {
        guard !finished else { return }
        if mode == .eventSource {
            write(EventSourceFormat.ping)
        } else {
            let frame = registry.renderer.streamingPing
            queue(chunked ? frame.buffer : frame.payload)
        }
    }

    /// The node is stopping: tell an EventSource when to come back (its `retry:` field, jittered so
    /// a node's clients spread over the others), then the footer and the end of the stream.
    override func shutdown() {
        if mode == .eventSource && !finished {
            write(Array("retry: \(Int.random(in: 250...2_000))\n\n".utf8))
        }
        finish(sendFooter: true)
    }

    override func finish(sendFooter: Bool) {
        guard !finished, let context else { return }
        finished = true
        unregister()
        writeOutgoing(to: context)
        if sendFooter, let footer = registry.renderer.footer(for: mode) {
            context.write(
                wrapOutboundOut(chunked ? ChunkedEncoding.frame(footer).buffer : ByteBuffer(bytes: footer)),
                promise: nil)
        }
        if chunked { context.write(wrapOutboundOut(ByteBuffer(staticString: ChunkedEncoding.lastChunk)), promise: nil) }
        close(context, once: context.writeAndFlush(wrapOutboundOut(ByteBuffer())))
    }
}
