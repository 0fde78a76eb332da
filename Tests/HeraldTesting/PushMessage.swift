import Foundation

/// A message rendered through push-stream's example JSON template
/// `{"id":~id~,"channel":"~channel~","text":"~text~", "tag":"~tag~", "time":"~time~", "eventid":"~event-id~"}`,
/// decoded with `JSONSerialization`, so a body that is not valid JSON fails the test.
public struct PushMessage: Sendable, Equatable, CustomStringConvertible {
    /// The message id (`~id~`).
    public var id: Int
    /// The channel (`~channel~`).
    public var channel: String
    /// The published text (`~text~`).
    public var text: String
    /// The tag (`~tag~`), telling apart messages published in the same second.
    public var tag: String
    /// The publication time as an HTTP date (`~time~`).
    public var time: String
    /// The `Event-Id` it was published with (`~event-id~`), empty if none.
    public var eventID: String

    /// A message with these fields, to compare decoded ones with.
    public init(id: Int, channel: String, text: String, tag: String, time: String, eventID: String) {
        self.id = id
        self.channel = channel
        self.text = text
        self.tag = tag
        self.time = time
        self.eventID = eventID
    }

    /// `#id@channel: text`, for failure messages.
    public var description: String { "#\(id)@\(channel): \(text.prefix(60))" }

    /// Decodes one JSON object.
    public static func decode(_ bytes: some Collection<UInt8>) throws -> PushMessage {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        } catch {
            throw HarnessError("not valid JSON: \(String(decoding: Array(bytes), as: UTF8.self).debugDescription)")
        }
        guard let dictionary = object as? [String: Any] else {
            throw HarnessError("not a JSON object: \(String(decoding: Array(bytes), as: UTF8.self))")
        }
        return try decode(dictionary)
    }

    /// Decodes an object already parsed by `JSONSerialization`.
    public static func decode(_ dictionary: [String: Any]) throws -> PushMessage {
        guard let id = (dictionary["id"] as? NSNumber)?.intValue,
            let channel = dictionary["channel"] as? String, let text = dictionary["text"] as? String,
            let tag = dictionary["tag"] as? String, let time = dictionary["time"] as? String,
            let eventID = dictionary["eventid"] as? String
        else { throw HarnessError("message object lacks a field: \(dictionary)") }
        return PushMessage(id: id, channel: channel, text: text, tag: tag, time: time, eventID: eventID)
    }

    /// Decodes one JSON object from text.
    public static func decode(_ text: String) throws -> PushMessage { try decode(Array(text.utf8)) }

    /// Splits concatenated top-level JSON objects (`{…}{…}` as a long-poll body carries several
    /// messages), then decodes each.
    public static func decodeConcatenated(_ bytes: [UInt8]) throws -> [PushMessage] {
        try splitObjects(bytes).map { try decode($0) }
    }

    /// The top-level `{…}` spans of `bytes`, respecting strings and escapes.
    public static func splitObjects(_ bytes: [UInt8]) throws -> [ArraySlice<UInt8>] {
        var objects: [ArraySlice<UInt8>] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start = 0
        for (i, byte) in bytes.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"):
                if depth == 0 { start = i }
                depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { objects.append(bytes[start...i]) }
                if depth < 0 { throw HarnessError("unbalanced JSON: \(String(decoding: bytes, as: UTF8.self))") }
            default:
                if depth == 0 && !(byte == 32 || byte == 10 || byte == 13 || byte == 9) {
                    throw HarnessError("stray byte between JSON objects in \(String(decoding: bytes, as: UTF8.self))")
                }
            }
        }
        guard depth == 0, !inString else {
            throw HarnessError("truncated JSON: \(String(decoding: bytes, as: UTF8.self))")
        }
        return objects
    }

    /// Decodes a JSONP body `callback([m1,m2]);`, returning the callback name and the messages.
    public static func decodeJSONP(_ text: String) throws -> (callback: String, messages: [PushMessage]) {
        guard let open = text.firstIndex(of: "("), text.hasSuffix(");") else {
            throw HarnessError("not a JSONP call: \(text)")
        }
        let callback = String(text[..<open])
        let inner = text[text.index(after: open)..<text.index(text.endIndex, offsetBy: -2)]
        let array: Any
        do {
            array = try JSONSerialization.jsonObject(with: Data(inner.utf8))
        } catch {
            throw HarnessError("JSONP argument is not valid JSON: \(inner)")
        }
        guard let items = array as? [[String: Any]] else {
            throw HarnessError("JSONP argument is not an array: \(inner)")
        }
        return (callback, try items.map(decode))
    }
}

/// A message of the streaming (`/sub`) iframe template
/// `<script>p(~id~,'~channel~','~text~','~event-id~', '~time~', '~tag~');</script>`.
public struct ScriptMessage: Sendable, Equatable {
    /// The message id.
    public var id: Int
    /// The channel.
    public var channel: String
    /// The published text.
    public var text: String
    /// The `Event-Id` it was published with, empty if none.
    public var eventID: String
    /// Its publish time as the template gives it (an HTTP date), empty if it gives none.
    public var time: String
    /// Its tag, its place among the channel's messages of the same second; nil if none is given.
    public var tag: Int?

    /// Every `<script>p(...);</script>` call in `html`, in order (texts must not contain `'`).
    public static func all(in html: String) -> [ScriptMessage] {
        var result: [ScriptMessage] = []
        var rest = html[...]
        while let open = rest.range(of: "<script>p(") {
            guard let close = rest[open.upperBound...].range(of: ");</script>") else { break }
            let arguments = rest[open.upperBound..<close.lowerBound]
            let idText = arguments.prefix { $0 != "," }
            let quoted = arguments.split(separator: "'", omittingEmptySubsequences: false)
            // id,'channel','text','eventid', 'time', 'tag' → quoted[1] channel, [3] text, [5] event
            // id, [7] time, [9] tag
            if let id = Int(idText), quoted.count >= 6 {
                result.append(
                    ScriptMessage(
                        id: id, channel: String(quoted[1]), text: String(quoted[3]), eventID: String(quoted[5]),
                        time: quoted.count > 7 ? String(quoted[7]) : "", tag: quoted.count > 9 ? Int(quoted[9]) : nil))
            }
            rest = rest[close.upperBound...]
        }
        return result
    }
}

/// HTTP dates, parsed and formatted with Foundation (independently of the server's code).
public enum HTTPDates {
    private static func formatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }

    /// The date of an HTTP date, nil if `text` is not one.
    public static func parse(_ text: String) -> Date? { formatter().date(from: text) }
    /// `date` as an HTTP date.
    public static func format(_ date: Date) -> String { formatter().string(from: date) }
}
