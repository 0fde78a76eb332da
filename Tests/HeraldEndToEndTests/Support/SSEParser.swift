/// One Server-Sent Event, or a comment line.
struct SSEEvent: Sendable, CustomStringConvertible {
    var id: String?
    var event: String?
    var dataLines: [String] = []

    var data: String { dataLines.joined(separator: "\n") }
    var description: String { "SSE(id: \(id ?? "-"), event: \(event ?? "-"), data: \(data.prefix(200)))" }
}

/// What an EventSource stream carried, in order.
enum SSEItem: Sendable {
    case comment(String)
    case event(SSEEvent)
}

/// An incremental `text/event-stream` parser following the WHATWG rules: lines end with CRLF, LF
/// or CR; `:` starts a comment; `field: value` (one optional space stripped); a blank line ends
/// an event. Events without data are not dispatched (as a browser does), but still recorded in
/// ``items`` so tests see everything.
final class SSEParser: @unchecked Sendable {
    private(set) var items: [SSEItem] = []
    private var line: [UInt8] = []
    private var current = SSEEvent()
    private var currentHasFields = false
    private var lastWasCR = false

    init() {}

    convenience init(_ bytes: [UInt8]) {
        self.init()
        feed(bytes)
    }

    var events: [SSEEvent] {
        items.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }

    var comments: [String] {
        items.compactMap { if case .comment(let text) = $0 { text } else { nil } }
    }

    /// Events whose data is a message (not comments), in order.
    var dataEvents: [SSEEvent] { events.filter { !$0.dataLines.isEmpty } }

    func feed(_ bytes: some Sequence<UInt8>) {
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
