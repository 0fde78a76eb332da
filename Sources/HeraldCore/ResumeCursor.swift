/// How far a subscriber has read one channel.
public struct ChannelPosition: Hashable, Sendable {
    /// The channel id.
    public var channel: String
    /// The id of the last message of `channel` the subscriber received (0 = none yet).
    public var lastID: Int64

    /// The position just after message `lastID` of `channel`.
    public init(channel: String, lastID: Int64) {
        self.channel = channel
        self.lastID = lastID
    }
}

/// Herald's resume cursor: the last id received on each channel of a subscription, so a reconnect
/// resumes exactly even across several channels (push-stream's time+tag cannot).
///
/// Text form: `hc:<channel>:<id>,<channel>:<id>…`, channels percent-encoded so `,` and `:` never
/// appear raw. It travels as an SSE id, an `Etag` and back as `Last-Event-ID` / `If-None-Match`.
public struct ResumeCursor: Hashable, Sendable, CustomStringConvertible {
    /// One position per channel, in subscription order.
    public var positions: [ChannelPosition]

    /// A cursor over `positions`, kept in the given order.
    public init(_ positions: [ChannelPosition]) {
        self.positions = positions
    }

    /// Parses the text form, also accepted wrapped as an entity tag (`W/"hc:…"`); `nil` if malformed,
    /// if an id is negative or not a plain decimal, or if a channel appears twice.
    public init?(parsing text: String) {
        var body = Substring(text)
        if body.hasPrefix("W/") { body = body.dropFirst(2) }
        if body.hasPrefix("\"") {
            guard body.count >= 2, body.hasSuffix("\"") else { return nil }
            body = body.dropFirst().dropLast()
        }
        guard body.hasPrefix(ResumeCursor.prefix) else { return nil }
        body = body.dropFirst(ResumeCursor.prefix.count)
        var positions: [ChannelPosition] = []
        var seen: Set<String> = []
        if !body.isEmpty {
            for entry in body.split(separator: ",", omittingEmptySubsequences: false) {
                let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, let channel = ResumeCursor.decodeChannel(parts[0]),
                    let lastID = ResumeCursor.parseID(parts[1]), seen.insert(channel).inserted
                else { return nil }
                positions.append(ChannelPosition(channel: channel, lastID: lastID))
            }
        }
        self.positions = positions
    }

    /// The text form, `hc:` followed by `channel:id` entries joined by `,`.
    public var description: String {
        var out: [UInt8] = Array(ResumeCursor.prefix.utf8)
        for (index, position) in positions.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            ResumeCursor.encodeChannel(position.channel, into: &out)
            out.append(UInt8(ascii: ":"))
            DecimalFormatting.append(position.lastID, into: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The last id received on `channel`, or `nil` if the cursor does not mention it.
    public func position(of channel: String) -> Int64? {
        positions.first { $0.channel == channel }?.lastID
    }

    static let prefix = "hc:"

    /// The bytes `encodeURIComponent` leaves alone; everything else is `%XX`-escaped.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "-_.!~*'()".utf8.contains(byte)
        }
    }

    static func encodeChannel(_ channel: String, into out: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in channel.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
    }

    /// Strict inverse of ``encodeChannel(_:into:)``: raw reserved bytes, broken escapes and
    /// invalid UTF-8 are all rejected rather than repaired.
    static func decodeChannel(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard let high = utf8.popFirst().flatMap(PercentDecoding.hexValue),
                    let low = utf8.popFirst().flatMap(PercentDecoding.hexValue)
                else { return nil }
                bytes.append(high << 4 | low)
            } else if isUnreserved(byte) {
                bytes.append(byte)
            } else {
                return nil
            }
        }
        guard UTF8Validation.isValid(bytes) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A non-negative decimal without sign, leading zeros or overflow.
    static func parseID(_ text: Substring) -> Int64? {
        guard let first = text.utf8.first, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        if first == UInt8(ascii: "0") && text.utf8.count > 1 { return nil }
        return Int64(text)
    }
}
