/// The wire form of a message between publishers, Redis and nodes: stored in a channel's backlog
/// and sent on its pub/sub channel, decoded once per node.
///
/// ```
/// 1 <id> <time> <tag> <channel length> <event-id length> <event-type length>\n<channel><event-id><event-type><text>
/// ```
///
/// One line of decimal fields, then the raw bytes back to back: binary-safe, trivial to produce in
/// Lua or any language, and parsed without scanning the text. Lengths are in bytes; an empty event
/// id or type means none. Control messages use negative ids (-2: the channel was deleted).
public enum Envelope {
    /// The format version, the first field.
    public static let version = 1

    /// Encodes a message.
    public static func encode(_ message: Message) -> [UInt8] {
        let eventID = Array((message.eventID ?? "").utf8)
        let eventType = Array((message.eventType ?? "").utf8)
        let channel = Array(message.channel.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(40 + channel.count + eventID.count + eventType.count + message.text.count)
        let header =
            "\(version) \(message.id) \(message.time) \(message.tag) \(channel.count) \(eventID.count) \(eventType.count)\n"
        out += header.utf8
        out += channel
        out += eventID
        out += eventType
        out += message.text
        return out
    }

    /// Decodes an envelope; nil for anything malformed (a foreign publisher, a newer version).
    public static func decode(_ bytes: some Collection<UInt8>) -> Message? {
        var fields: [Int64] = []
        fields.reserveCapacity(7)
        var value: Int64 = 0
        var negative = false
        var digits = 0
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            index = bytes.index(after: index)
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard digits < 18 else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
                digits += 1
            case UInt8(ascii: "-") where digits == 0 && !negative:
                negative = true
            case UInt8(ascii: " "), UInt8(ascii: "\n"):
                guard digits > 0 else { return nil }
                fields.append(negative ? -value : value)
                value = 0
                negative = false
                digits = 0
                if byte == UInt8(ascii: "\n") { return decodeBody(fields, bytes[index...]) }
            default:
                return nil
            }
        }
        return nil
    }

    private static func decodeBody(_ fields: [Int64], _ rest: some Collection<UInt8>) -> Message? {
        guard fields.count == 7, fields[0] == Int64(version) else { return nil }
        let lengths = fields[4...6].map(Int.init)
        guard lengths.allSatisfy({ $0 >= 0 }), lengths.reduce(0, +) <= rest.count else { return nil }
        var index = rest.startIndex
        func take(_ n: Int) -> String {
            let end = rest.index(index, offsetBy: n)
            defer { index = end }
            return String(decoding: rest[index..<end], as: UTF8.self)
        }
        let channel = take(lengths[0])
        let eventID = take(lengths[1])
        let eventType = take(lengths[2])
        return Message(
            channel: channel, id: fields[1], time: fields[2], tag: fields[3],
            eventID: eventID.isEmpty ? nil : eventID, eventType: eventType.isEmpty ? nil : eventType,
            text: Array(rest[index...]))
    }
}
