/// How far a subscriber has read one channel.
public struct ChannelPosition: Hashable, Sendable {
    /// The channel id.
    public var channel: String
    /// The id of the last message of `channel` the subscriber received (0 = none yet).
    public var lastID: Int64
    /// The channel's generation `lastID` belongs to (0: not named).
    public var generation: Int64

    /// The position just after message `lastID` of generation `generation` of `channel`.
    public init(channel: String, lastID: Int64, generation: Int64 = 0) {
        self.channel = channel
        self.lastID = lastID
        self.generation = generation
    }
}

/// Herald's resume cursor: the last id received on each channel of a subscription, so a reconnect
/// resumes exactly even across several channels (push-stream's time+tag cannot).
///
/// Text form: `hc:<channel>:<id>[:<generation>],…`, channels percent-encoded so `,` and `:` never
/// appear raw; the generation (see ``StreamPoint``) is left out when not known. It travels as an SSE id, an `Etag` and back as `Last-Event-ID` / `If-None-Match`.
/// Parsing a client's text is linear and bounded (``defaultMaxEntries``, ``defaultMaxLength``), and
/// ``position(of:)`` is a hash lookup, so a cursor costs a request no more than its size.
public struct ResumeCursor: Hashable, Sendable, CustomStringConvertible {
    /// One position per channel, in subscription order.
    public private(set) var positions: [ChannelPosition]
    /// `positions` by channel (the first of a repeated channel), for cursors long enough to need it.
    private let lookup: [String: ChannelPosition]?

    /// The most entries a client's cursor may hold: the default per-subscription channel limit.
    public static let defaultMaxEntries = 100
    /// The longest text form accepted from a client, in UTF-8 bytes.
    public static let defaultMaxLength = 16_384
    /// Up to this many positions a linear scan beats hashing; above it a dictionary is built once.
    static let linearLookupLimit = 8

    /// A cursor over `positions`, kept in the given order.
    public init(_ positions: [ChannelPosition]) {
        self.positions = positions
        lookup =
            positions.count > ResumeCursor.linearLookupLimit
            ? Dictionary(positions.lazy.map { ($0.channel, $0) }, uniquingKeysWith: { first, _ in first })
            : nil
    }

    /// Parses a client's text form within the default bounds; see ``init(parsing:maxEntries:maxLength:)``.
    public init?(parsing text: String) {
        self.init(parsing: text, maxEntries: ResumeCursor.defaultMaxEntries, maxLength: ResumeCursor.defaultMaxLength)
    }

    /// Parses the text form, also accepted wrapped as an entity tag (`W/"hc:…"`).
    ///
    /// `nil` if malformed, if an id is negative or not a plain decimal, if a channel appears twice,
    /// if `text` is longer than `maxLength` UTF-8 bytes or holds more than `maxEntries` entries;
    /// both bounds are checked before anything is split or decoded.
    public init?(parsing text: String, maxEntries: Int, maxLength: Int) {
        guard text.utf8.count <= maxLength else { return nil }
        var body = Substring(text)
        if body.hasPrefix("W/") { body = body.dropFirst(2) }
        if body.hasPrefix("\"") {
            guard body.utf8.count >= 2, body.hasSuffix("\"") else { return nil }
            body = body.dropFirst().dropLast()
        }
        guard body.hasPrefix(ResumeCursor.prefix) else { return nil }
        let entries = body.utf8.dropFirst(ResumeCursor.prefix.utf8.count)
        guard !entries.isEmpty else {
            self.init([])
            return
        }
        var commas = 0
        for byte in entries where byte == UInt8(ascii: ",") {
            commas += 1
            if commas >= maxEntries { return nil }
        }
        var positions: [ChannelPosition] = []
        positions.reserveCapacity(commas + 1)
        var seen = Set<String>(minimumCapacity: commas + 1)
        var rest = entries[...]
        while true {
            let comma = rest.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
            let entry = rest[..<comma]
            guard let colon = entry.firstIndex(of: UInt8(ascii: ":")),
                let channel = ResumeCursor.decodeChannel(entry[..<colon]),
                let (lastID, generation) = ResumeCursor.parseIDAndGeneration(entry[entry.index(after: colon)...]),
                seen.insert(channel).inserted
            else { return nil }
            positions.append(ChannelPosition(channel: channel, lastID: lastID, generation: generation))
            guard comma < rest.endIndex else { break }
            rest = rest[rest.index(after: comma)...]
        }
        self.init(positions)
    }

    /// The text form, `hc:` followed by `channel:id` entries joined by `,`.
    public var description: String {
        var out: [UInt8] = Array(ResumeCursor.prefix.utf8)
        for (index, position) in positions.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            ResumeCursor.encodeChannel(position.channel, into: &out)
            out.append(UInt8(ascii: ":"))
            DecimalFormatting.append(position.lastID, into: &out)
            if position.generation > 0 {
                out.append(UInt8(ascii: ":"))
                DecimalFormatting.append(position.generation, into: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Where the cursor stands on `channel`, or `nil` if it does not mention it; constant time.
    public func position(of channel: String) -> ChannelPosition? {
        if let lookup { return lookup[channel] }
        return positions.first { $0.channel == channel }
    }

    /// Cursors are equal when their positions are, in order: the lookup table follows from them.
    public static func == (lhs: ResumeCursor, rhs: ResumeCursor) -> Bool {
        lhs.positions == rhs.positions
    }

    /// Hashes the positions only, consistent with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(positions)
    }

    static let prefix = "hc:"

    static func encodeChannel(_ channel: String, into out: inout [UInt8]) {
        PercentDecoding.appendComponent(channel, into: &out)
    }

    /// Strict inverse of ``encodeChannel(_:into:)``: raw reserved bytes, broken escapes and
    /// invalid UTF-8 are all rejected rather than repaired.
    static func decodeChannel(_ text: Substring.UTF8View.SubSequence) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var utf8 = text
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard let high = utf8.popFirst().flatMap(PercentDecoding.hexValue),
                    let low = utf8.popFirst().flatMap(PercentDecoding.hexValue)
                else { return nil }
                bytes.append(high << 4 | low)
            } else if PercentDecoding.isUnreserved(byte) {
                bytes.append(byte)
            } else {
                return nil
            }
        }
        guard UTF8Validation.isValid(bytes) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `<id>` or `<id>:<generation>`, the generation a positive decimal; generation 0 when absent.
    static func parseIDAndGeneration(_ text: Substring.UTF8View.SubSequence) -> (Int64, Int64)? {
        guard let colon = text.firstIndex(of: UInt8(ascii: ":")) else {
            return parseID(text).map { ($0, 0) }
        }
        guard let id = parseID(text[..<colon]), let generation = parseID(text[text.index(after: colon)...]),
            generation > 0
        else { return nil }
        return (id, generation)
    }

    /// A non-negative decimal without sign, leading zeros or overflow.
    static func parseID(_ text: Substring.UTF8View.SubSequence) -> Int64? {
        guard let first = text.first, text.count <= 19, text.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        if first == UInt8(ascii: "0") && text.count > 1 { return nil }
        var value: Int64 = 0
        for digit in text {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(digit - 0x30))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }
}
