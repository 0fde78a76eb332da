/// A `push_stream_message_template`, parsed once into literal and placeholder segments.
///
/// Rendering is a single pass over the segments appending bytes, so a message body that itself
/// contains `~text~` is never re-expanded, and no intermediate `String` is built per message.
///
/// The text, channel, event id and event type are escaped for the template's context, decided
/// once from its source (``Escaping``):
/// 1. first non-blank character `{` or `[`: ``Escaping/json`` (JSON string escaping);
/// 2. else contains `<script` (any case): ``Escaping/javaScriptInHTML``, as for the
///    streaming page's `<script>p(~id~,'~channel~','~text~',…);</script>`: values can never close
///    the string or the script, and the page's `p(…)` receives them unchanged;
/// 3. else contains a tag (`<` then a letter, `/` or `!`): ``Escaping/html`` (entities);
/// 4. else ``Escaping/verbatim``: values are copied as they are, like push-stream does,
///    so `~text~` stays byte-identical.
///
/// Numbers and the time (`~id~`, `~tag~`, `~size~`, `~time~`, `~generation~`) never need escaping.
public struct MessageTemplate: Sendable, Hashable {
    /// How values are escaped where a template inserts them.
    public enum Escaping: Sendable, Hashable {
        /// JSON string escaping (``JSONEscaping``).
        case json
        /// JavaScript string escaping safe inside an HTML `<script>` (``JavaScriptEscaping``).
        case javaScriptInHTML
        /// HTML entities for `& < > " '` (``HTMLEscaping``).
        case html
        /// No escaping: push-stream's behaviour for plain templates.
        case verbatim
    }

    /// The template text as configured.
    public let source: String
    /// The escaping context, chosen once from `source`.
    public let escaping: Escaping
    /// Whether the template looks like JSON (first non-blank character `{` or `[`), which turns on
    /// JSON string escaping of the text, channel, event id and event type.
    public var isJSON: Bool { escaping == .json }
    let segments: [Segment]
    /// Bytes of literal text, to size the output buffer in one reservation.
    let literalByteCount: Int

    /// One piece of a parsed template.
    enum Segment: Sendable, Hashable {
        case literal([UInt8])
        case id, text, channel, eventID, eventType, time, tag, size, generation
    }

    /// Parses `source`; placeholders are matched case-insensitively and unknown `~names~` stay literal.
    public init(_ source: String) {
        self.source = source
        let bytes = Array(source.utf8)
        escaping = MessageTemplate.escaping(for: bytes)
        segments = MessageTemplate.parse(bytes)
        literalByteCount = segments.reduce(0) { total, segment in
            if case .literal(let bytes) = segment { total + bytes.count } else { total }
        }
    }

    /// push-stream's default example template, also Herald's default for JSON-speaking transports.
    public static let pushStreamJSON = MessageTemplate(
        #"{"id":~id~,"channel":"~channel~","text":"~text~", "tag":"~tag~", "time":"~time~", "eventid":"~event-id~"}"#)

    /// push-stream's default template: the body alone.
    public static let plainText = MessageTemplate("~text~")

    /// Appends `message` rendered through the template to `out`.
    public func render(_ message: Message, into out: inout [UInt8]) {
        message.text.withUnsafeBufferPointer { render(message, text: $0, into: &out) }
    }

    /// Appends `message` rendered with `line` in place of its text (`~text~` and `~size~`),
    /// for EventSource, which renders each line of a body separately.
    public func render(_ message: Message, line: ArraySlice<UInt8>, into out: inout [UInt8]) {
        line.withUnsafeBufferPointer { render(message, text: $0, into: &out) }
    }

    func render(_ message: Message, text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        // Exact for verbatim templates; escaping may grow it, which `append` then absorbs.
        out.reserveAdditional(literalByteCount + text.count + message.channel.utf8.count + 64)
        for segment in segments {
            switch segment {
            case .literal(let bytes): out.append(contentsOf: bytes)
            case .id: DecimalFormatting.append(message.id, into: &out)
            case .tag: DecimalFormatting.append(message.tag, into: &out)
            case .generation: DecimalFormatting.append(message.generation, into: &out)
            case .time: HTTPDate.append(message.time, into: &out)
            case .size: DecimalFormatting.append(UInt64(text.count), into: &out)
            case .text: appendString(text, into: &out)
            case .channel: appendString(message.channel, into: &out)
            case .eventID: appendString(message.eventID ?? "", into: &out)
            case .eventType: appendString(message.eventType ?? "", into: &out)
            }
        }
    }

    func appendString(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        switch escaping {
        case .json: JSONEscaping.appendEscaped(bytes, into: &out)
        case .javaScriptInHTML: JavaScriptEscaping.appendEscaped(bytes, into: &out)
        case .html: HTMLEscaping.appendEscaped(bytes, into: &out)
        case .verbatim: out.append(contentsOf: bytes)
        }
    }

    func appendString(_ string: String, into out: inout [UInt8]) {
        if string.isEmpty { return }
        switch escaping {
        case .json: JSONEscaping.append(string, into: &out)
        case .javaScriptInHTML: JavaScriptEscaping.append(string, into: &out)
        case .html: HTMLEscaping.append(string, into: &out)
        case .verbatim: out.append(contentsOf: string.utf8)
        }
    }

    /// The escaping rule of the type's documentation, applied to the template's source.
    static func escaping(for bytes: [UInt8]) -> Escaping {
        let firstNonBlank = bytes.first { !isBlank($0) }
        if firstNonBlank == UInt8(ascii: "{") || firstNonBlank == UInt8(ascii: "[") { return .json }
        let lessThan = UInt8(ascii: "<")
        var sawTag = false
        for i in bytes.indices where bytes[i] == lessThan {
            let rest = bytes[(i + 1)...]
            if rest.count >= 6, PercentDecoding.asciiCaseInsensitiveEqual(rest.prefix(6), scriptName) {
                return .javaScriptInHTML
            }
            if let next = rest.first, isTagStart(next) { sawTag = true }
        }
        return sawTag ? .html : .verbatim
    }

    static let scriptName: [UInt8] = Array("script".utf8)

    /// A letter, `/` or `!` after `<` opens a tag, an end tag or a comment/doctype.
    static func isTagStart(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "/") || byte == UInt8(ascii: "!") || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
    }

    /// Templates are equal when their sources are: the parsed form follows from the source.
    public static func == (lhs: MessageTemplate, rhs: MessageTemplate) -> Bool {
        lhs.source == rhs.source
    }

    /// Hashes the source only, consistent with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(source)
    }

    static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }

    static let placeholders: [(name: [UInt8], segment: Segment)] = [
        (Array("id".utf8), .id), (Array("text".utf8), .text), (Array("channel".utf8), .channel),
        (Array("event-id".utf8), .eventID), (Array("event-type".utf8), .eventType),
        (Array("time".utf8), .time), (Array("tag".utf8), .tag), (Array("size".utf8), .size),
        (Array("generation".utf8), .generation),
    ]

    static func parse(_ bytes: [UInt8]) -> [Segment] {
        var segments: [Segment] = []
        var literal: [UInt8] = []
        let tilde = UInt8(ascii: "~")
        var i = 0
        while i < bytes.count {
            if bytes[i] == tilde, let close = bytes[(i + 1)...].firstIndex(of: tilde),
                let placeholder = placeholders.first(where: {
                    PercentDecoding.asciiCaseInsensitiveEqual($0.name, bytes[(i + 1)..<close])
                })
            {
                if !literal.isEmpty {
                    segments.append(.literal(literal))
                    literal = []
                }
                segments.append(placeholder.segment)
                i = close + 1
            } else {
                // Not a placeholder: keep the `~` and let the next `~` start a fresh attempt.
                literal.append(bytes[i])
                i += 1
            }
        }
        if !literal.isEmpty { segments.append(.literal(literal)) }
        return segments
    }
}
