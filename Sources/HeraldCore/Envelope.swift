/// The wire form of a message between publishers, Redis and nodes: stored in a channel's backlog
/// and sent on its pub/sub channel, decoded once per node.
///
/// ```
/// 3 <id> <time> <tag> <generation> <previous time> <previous tag> <order> <channel length> <event-id length> <event-type length>\n<channel><event-id><event-type><text>
/// ```
///
/// One line of decimal fields, then the raw bytes back to back: binary-safe, trivial to produce in
/// Lua or any language, and parsed without scanning the text. Lengths are in bytes; an empty event
/// id or type means none. The generation names the channel's incarnation (see ``StreamPoint``);
/// the previous time and tag are those of message `id - 1`, so the oldest stored message says
/// where the messages before it ended even once they are gone (0 0 for the first message). The
/// order is the publish time in microseconds (Redis's clock), which orders messages of different
/// channels (``Message/order``).
/// Versions 2 (no order: it is taken as the publish second's first microsecond) and 1
/// (`1 <id> <time> <tag> <lengths…>`, no generation or previous point either) are still read:
/// control messages use version 1 (negative ids; -2: the channel was deleted), and backlogs
/// written by an older Herald may hold either.
public enum Envelope {
    /// The format version written, the first field.
    public static let version = 3

    /// Encodes a message; `previous` is the time and tag of the message before it.
    public static func encode(_ message: Message, previous: (time: Int64, tag: Int64) = (0, 0)) -> [UInt8] {
        let eventID = Array((message.eventID ?? "").utf8)
        let eventType = Array((message.eventType ?? "").utf8)
        let channel = Array(message.channel.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(80 + channel.count + eventID.count + eventType.count + message.text.count)
        let header =
            "\(version) \(message.id) \(message.time) \(message.tag) \(message.generation) \(previous.time) "
            + "\(previous.tag) \(message.order) \(channel.count) \(eventID.count) \(eventType.count)\n"
        out += header.utf8
        out += channel
        out += eventID
        out += eventType
        out += message.text
        return out
    }

    /// Decodes an envelope; nil for anything malformed (a foreign publisher, a newer version).
    public static func decode(_ bytes: some Collection<UInt8>) -> Message? {
        parse(bytes)?.message
    }

    /// ``decode(_:)`` of bytes in memory, such as a pub/sub message's buffer: every delivered
    /// message is decoded this way, and a concrete type keeps the byte loop specialised (a generic
    /// call from another module runs unspecialised, through witness tables per byte).
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Message? {
        parse(bytes)?.message
    }

    /// Decodes an envelope and the time and tag of the message before it (nil for version 1).
    public static func decodeWithPrevious(
        _ bytes: some Collection<UInt8>
    ) -> (message: Message, previous: (time: Int64, tag: Int64)?)? {
        parse(bytes)
    }

    /// ``decodeWithPrevious(_:)`` of an array, specialised like the pointer form of ``decode(_:)``.
    public static func decodeWithPrevious(_ bytes: [UInt8]) -> (message: Message, previous: (time: Int64, tag: Int64)?)?
    {
        parse(bytes)
    }

    private static func parse(
        _ bytes: some Collection<UInt8>
    ) -> (message: Message, previous: (time: Int64, tag: Int64)?)? {
        var fields: [Int64] = []
        fields.reserveCapacity(10)
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

    private static func decodeBody(
        _ fields: [Int64], _ rest: some Collection<UInt8>
    ) -> (message: Message, previous: (time: Int64, tag: Int64)?)? {
        let generation: Int64
        let previous: (time: Int64, tag: Int64)?
        let lengthFields: ArraySlice<Int64>
        var order = fields.count > 2 ? fields[2] * 1_000_000 : 0
        switch (fields.first, fields.count) {
        case (1, 7):
            (generation, previous, lengthFields) = (0, nil, fields[4...6])
        case (2, 10):
            (generation, previous, lengthFields) = (fields[4], (fields[5], fields[6]), fields[7...9])
        case (3, 11):
            (generation, previous, lengthFields) = (fields[4], (fields[5], fields[6]), fields[8...10])
            order = fields[7]
        default:
            return nil
        }
        let lengths = lengthFields.map(Int.init)
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
        let message = Message(
            channel: channel, id: fields[1], time: fields[2], tag: fields[3],
            eventID: eventID.isEmpty ? nil : eventID, eventType: eventType.isEmpty ? nil : eventType,
            text: Array(rest[index...]), generation: generation, order: order)
        return (message, previous)
    }
}
