/// One Server-Sent Event, or a comment line.
public struct SSEEvent: Sendable, CustomStringConvertible {
    /// The last `id:` field, if any.
    public var id: String?
    /// The last `event:` field, if any.
    public var event: String?
    /// The `data:` fields, in order.
    public var dataLines: [String] = []

    /// The data lines joined with LF, as a browser dispatches them.
    public var data: String { dataLines.joined(separator: "\n") }
    /// A one-line summary, for failure messages.
    public var description: String { "SSE(id: \(id ?? "-"), event: \(event ?? "-"), data: \(data.prefix(200)))" }
}

/// What an EventSource stream carried, in order.
public enum SSEItem: Sendable {
    case comment(String)
    case event(SSEEvent)
}

/// An incremental `text/event-stream` parser following the WHATWG rules: lines end with CRLF, LF
/// or CR; `:` starts a comment; `field: value` (one optional space stripped); a blank line ends
/// an event. Events without data are not dispatched (as a browser does), but still recorded in
/// ``items`` so tests see everything.
public final class SSEParser: @unchecked Sendable {
    /// Every event and comment parsed so far, in order.
    public private(set) var items: [SSEItem] = []
    private var line: [UInt8] = []
    private var current = SSEEvent()
    private var currentHasFields = false
    private var lastWasCR = false

    /// An empty parser.
    public init() {}

    /// A parser fed with `bytes`.
    public convenience init(_ bytes: [UInt8]) {
        self.init()
        feed(bytes)
    }

    /// The events parsed so far, in order.
    public var events: [SSEEvent] {
        items.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }

    /// The comment lines, without the leading `:` and one space.
    public var comments: [String] {
        items.compactMap { if case .comment(let text) = $0 { text } else { nil } }
    }

    /// Events whose data is a message (not comments), in order.
    public var dataEvents: [SSEEvent] { events.filter { !$0.dataLines.isEmpty } }

    /// Parses more of the stream; a line or event split across calls is completed later.
    public func feed(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            if byte == 10 && lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == 13
            if byte == 10 || byte == 13 {
                endLine()
            } else {
                line.append(byte)
            }
        }
    }

    private func endLine() {
        defer { line = [] }
        let text = String(decoding: line, as: UTF8.self)
        if text.isEmpty {
            if currentHasFields { items.append(.event(current)) }
            current = SSEEvent()
            currentHasFields = false
            return
        }
        if text.hasPrefix(":") {
            var comment = text.dropFirst()
            if comment.hasPrefix(" ") { comment = comment.dropFirst() }
            items.append(.comment(String(comment)))
            return
        }
        let name: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            name = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            name = text[...]
            value = ""
        }
        currentHasFields = true
        switch name {
        case "id": current.id = String(value)
        case "event": current.event = String(value)
        case "data": current.dataLines.append(String(value))
        default: break
        }
    }
}
