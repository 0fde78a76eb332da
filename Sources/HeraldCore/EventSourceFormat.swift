/// Server-Sent Events framing of templates and messages, push-stream style.
///
/// Whatever the template or the message contain, the output is always well-formed SSE: no CR or LF
/// can escape from a `data:`, `id:`, `event:` or comment line.
public enum EventSourceFormat {
    /// The keep-alive comment push-stream sends on an idle EventSource stream.
    public static let ping: [UInt8] = Array(": -1\n".utf8)

    /// Appends a header or footer template as comment lines (`: <line>\n`); empty lines are dropped,
    /// and a missing or blank template still yields `: \n` so the stream starts with something.
    public static func comment(_ template: String?, into out: inout [UInt8]) {
        var wrote = false
        if let template {
            let bytes = Array(template.utf8)
            forEachLine(bytes[...]) { line in
                guard !line.isEmpty else { return }
                out.append(contentsOf: commentPrefix)
                out.append(contentsOf: line)
                out.append(newline)
                wrote = true
            }
        }
        if !wrote {
            out.append(contentsOf: commentPrefix)
            out.append(newline)
        }
    }

    /// Appends one event: `event:` (if the message has a type), its `data:` lines, and the blank line.
    ///
    /// The `id:` line is not written here: it carries the subscription's resume cursor, which the
    /// caller knows and writes with ``idLine(_:into:)`` first.
    public static func message(_ message: Message, template: MessageTemplate, into out: inout [UInt8]) {
        if let type = message.eventType, !type.isEmpty {
            out.append(contentsOf: eventPrefix)
            appendStrippingLineBreaks(type, into: &out)
            out.append(newline)
        }
        if template.isJSON {
            // Escaping keeps the text on one line, so the whole message is one data line.
            appendDataLine(into: &out) { template.render(message, into: &$0) }
        } else {
            let text = message.text[...]
            forEachLine(text) { line in
                appendDataLine(into: &out) { template.render(message, line: line, into: &$0) }
            }
        }
        out.append(newline)
    }

    /// Appends `id: <value>\n`, dropping any CR or LF from `value`.
    public static func idLine(_ value: String, into out: inout [UInt8]) {
        out.append(contentsOf: idPrefix)
        appendStrippingLineBreaks(value, into: &out)
        out.append(newline)
    }

    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let commentPrefix: [UInt8] = Array(": ".utf8)
    static let dataPrefix: [UInt8] = Array("data: ".utf8)
    static let eventPrefix: [UInt8] = Array("event: ".utf8)
    static let idPrefix: [UInt8] = Array("id: ".utf8)

    /// Calls `body` for each line of `bytes`, split on CRLF, CR or LF. A trailing line break does
    /// produce a final empty line, so a client joining the data lines with `\n` gets the text back.
    static func forEachLine(_ bytes: ArraySlice<UInt8>, _ body: (ArraySlice<UInt8>) -> Void) {
        var start = bytes.startIndex
        var i = start
        while i < bytes.endIndex {
            let byte = bytes[i]
            if byte == newline || byte == carriageReturn {
                body(bytes[start..<i])
                i += 1
                if byte == carriageReturn && i < bytes.endIndex && bytes[i] == newline { i += 1 }
                start = i
            } else {
                i += 1
            }
        }
        body(bytes[start..<bytes.endIndex])
    }

    /// Appends `data: ` + whatever `render` appends + `\n`, turning any line break `render` produced
    /// (from a multi-line template or a channel name) into the start of a new `data: ` line.
    static func appendDataLine(into out: inout [UInt8], _ render: (inout [UInt8]) -> Void) {
        out.append(contentsOf: dataPrefix)
        let start = out.count
        render(&out)
        if out[start...].contains(where: { $0 == newline || $0 == carriageReturn }) {
            let rendered = Array(out[start...])
            out.removeSubrange(start...)
            var first = true
            forEachLine(rendered[...]) { line in
                if !first {
                    out.append(newline)
                    out.append(contentsOf: dataPrefix)
                }
                out.append(contentsOf: line)
                first = false
            }
        }
        out.append(newline)
    }

    static func appendStrippingLineBreaks(_ value: String, into out: inout [UInt8]) {
        for byte in value.utf8 where byte != newline && byte != carriageReturn {
            out.append(byte)
        }
    }
}
