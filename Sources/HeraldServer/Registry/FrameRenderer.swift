import HeraldCore
import NIOCore

/// The set of transports a message must be rendered for.
struct FrameKinds: OptionSet, Sendable {
    let rawValue: UInt8
    static let streaming = FrameKinds(rawValue: 1 << 0)
    static let eventSource = FrameKinds(rawValue: 1 << 1)
    static let webSocket = FrameKinds(rawValue: 1 << 2)
    static let longPolling = FrameKinds(rawValue: 1 << 3)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ mode: SubscriberMode) {
        switch mode {
        case .streaming: self = .streaming
        case .eventSource: self = .eventSource
        case .webSocket: self = .webSocket
        case .polling, .longPolling: self = .longPolling
        }
    }
}

/// One message with its frames for every transport that has a subscriber to it.
struct RenderedMessage: Sendable {
    let message: Message
    /// For a gap notice (id -4) delivered live: where its subscribers stand once they have it.
    var resumeAt: StreamPoint?
    /// For a gap notice: Redis handed out again ids its subscribers may have seen, so one past
    /// `resumeAt` concerns them too (`MessageSink.deliverGap(_:resumeAt:idsReused:)`).
    var idsReused = false
    /// When the message reached this node, for the delivery latency metric.
    var arrived: NIODeadline?
    var streaming: Frame?
    var eventSource: Frame?
    var webSocket: ByteBuffer?
}

/// Renders every template use: messages into each transport's wire frames, long-poll and JSONP
/// bodies, headers, footers and pings. What a template inserts is escaped for the template's
/// context by `MessageTemplate`; nothing else in the node renders a template.
struct FrameRenderer: Sendable {
    let settings: NodeSettings
    /// The keep-alive of streaming subscribers: the ping message through their template.
    private(set) var streamingPing: Frame

    init(settings: NodeSettings) {
        self.settings = settings
        self.streamingPing = ChunkedEncoding.frame([])
        self.streamingPing = streaming(.ping(text: Array(settings.pingMessageText.utf8)))
    }

    func render(_ message: Message, for kinds: FrameKinds) -> RenderedMessage {
        var rendered = RenderedMessage(message: message)
        if kinds.contains(.streaming) { rendered.streaming = streaming(message) }
        if kinds.contains(.eventSource) {
            rendered.eventSource = eventSource(message, cursor: Self.singleChannelCursor(message))
        }
        if kinds.contains(.webSocket) { rendered.webSocket = webSocket(message) }
        return rendered
    }

    /// The cursor of a single-channel subscription that has just received `message`.
    static func singleChannelCursor(_ message: Message) -> String? {
        guard message.id > 0 else { return nil }
        return ResumeCursor([
            ChannelPosition(channel: message.channel, lastID: message.id, generation: message.generation)
        ]).description
    }

    func templateOutput(_ message: Message, mode: SubscriberMode) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.text.count + 160)
        settings.templates(for: mode).message.render(message, into: &out)
        return out
    }

    func streaming(_ message: Message) -> Frame {
        ChunkedEncoding.frame(templateOutput(message, mode: .streaming))
    }

    func webSocket(_ message: Message) -> ByteBuffer {
        WebSocketFraming.frame(.text, payload: templateOutput(message, mode: .webSocket))
    }

    /// An EventSource event, chunk-framed, with `cursor` as its `id:` line when given.
    func eventSource(_ message: Message, cursor: String?) -> Frame {
        var idLine: [UInt8] = []
        if let cursor { EventSourceFormat.idLine(cursor, into: &idLine) }
        var body: [UInt8] = []
        body.reserveCapacity(message.text.count + 180)
        EventSourceFormat.message(message, template: settings.eventSourceTemplates.message, into: &body)
        var buffer = ByteBufferAllocator().buffer(capacity: idLine.count + body.count + 12)
        ChunkedEncoding.writeChunkHeader(size: idLine.count + body.count, into: &buffer)
        let payloadStart = buffer.writerIndex
        buffer.writeBytes(idLine)
        let bodyStart = buffer.writerIndex
        buffer.writeBytes(body)
        buffer.writeStaticString("\r\n")
        return Frame(buffer: buffer, payloadStart: payloadStart, bodyStart: bodyStart, chunked: true)
    }

    /// A long-poll or poll answer's body: header template, the messages (wrapped in
    /// `callback([…]);` for JSONP, the callback already checked to be a JavaScript name), footer.
    func longPollBody(_ messages: [Message], callback: String?) -> ByteBuffer {
        let templates = settings.templates(for: .longPolling)
        var body = ByteBuffer()
        if let header = templates.header { body.writeString(header) }
        if let callback { body.writeString(callback + "([") }
        for (i, message) in messages.enumerated() {
            if callback != nil && i > 0 { body.writeStaticString(",") }
            body.writeBytes(templateOutput(message, mode: .longPolling))
        }
        if callback != nil { body.writeStaticString("]);") }
        if let footer = templates.footer { body.writeString(footer) }
        return body
    }

    /// The bytes a long-lived subscriber in `mode` gets right after its response head (nil: none).
    /// EventSource turns the template into a comment line, and always sends one, so the browser
    /// sees the stream open at once.
    func header(for mode: SubscriberMode) -> [UInt8]? {
        templateBytes(settings.templates(for: mode).header, mode: mode)
    }

    /// The bytes a long-lived subscriber in `mode` gets before the server ends its stream (nil: none).
    func footer(for mode: SubscriberMode) -> [UInt8]? {
        let footer = settings.templates(for: mode).footer
        guard let footer, !footer.isEmpty else { return nil }
        return templateBytes(footer, mode: mode)
    }

    private func templateBytes(_ text: String?, mode: SubscriberMode) -> [UInt8]? {
        switch mode {
        case .eventSource:
            var out: [UInt8] = []
            EventSourceFormat.comment(text, into: &out)
            return out
        default:
            guard let text, !text.isEmpty else { return nil }
            return Array(text.utf8)
        }
    }
}
