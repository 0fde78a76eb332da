/// One channel named in a request path, with the number of stored messages it asked to replay.
public struct ChannelSelection: Hashable, Sendable {
    /// The channel id, exactly as decoded from the path (may be empty: see ``ChannelPath/parse(_:)``).
    public var channel: String
    /// How many of the latest stored messages to replay first (`.bN`); 0 means none.
    public var backtrack: Int

    /// Selects `channel`, replaying its last `backtrack` stored messages first.
    public init(channel: String, backtrack: Int) {
        self.channel = channel
        self.backtrack = backtrack
    }
}

/// push-stream's channel path syntax: `ch1.b3/ch2/ch3.b10`, and the request checks that need no state.
///
/// Endpoints call ``parseValidated(rawPercentEncoded:limits:)``: one pass from the raw path or
/// argument to unique, validated selections. ``parse(_:)`` and ``validate(_:maxChannelIDLength:wildcardPrefix:maxWildcardChannels:isSubscriber:)``
/// are its pieces, for callers that already hold a decoded path.
public enum ChannelPath {
    /// Goes from a still percent-encoded channels path (`/sub/<path>`, `?id=`, `?channels=`) to the
    /// channels a request names, refusing it with the error the client must see.
    ///
    /// Work is linear in the length of `raw`, whatever it holds. In order:
    /// 1. `raw` is percent-decoded to bytes; an empty result is ``ProtocolError/noChannelID``.
    /// 2. The `/`-separated segments are counted, duplicates included; more than
    ///    ``ChannelLimits/maxChannels`` is ``ProtocolError/tooManyChannels``, before any per-channel work.
    /// 3. Each segment loses its `.bN` suffix, then its id is checked with push-stream's rules in
    ///    push-stream's order (`ALL` or a `*`: ``ProtocolError/channelNotAuthorized``; longer than
    ///    ``ChannelLimits/maxChannelIDLength`` UTF-8 bytes: ``ProtocolError/channelIDTooLarge``), then
    ///    Herald's: a control byte (0x00–0x1F, 0x7F), `{`, `}` or bytes that are not UTF-8 are
    ///    ``ProtocolError/invalidChannelID``. Invalid UTF-8 is refused rather than repaired so that two
    ///    different names can never become the same channel; braces would move the Redis Cluster
    ///    hash tag `{channel}`. The first failing channel decides.
    /// 4. Repeated ids are dropped: request order, the first one (and its backtrack) wins.
    /// 5. For subscribers with ``ChannelLimits/maxWildcardChannels`` set, more wildcard channels than
    ///    that, or only wildcard channels, is ``ProtocolError/tooManyWildcardChannels``.
    ///
    /// Path quirks are push-stream's (see ``parse(_:)``): a leading `/` or `//` names the empty id,
    /// a single trailing `/` does not, and `%2F` separates channels like `/`.
    ///
    /// - Parameters:
    ///   - raw: the path or argument exactly as it came in the request line.
    ///   - limits: the location's limits.
    /// - Returns: at least one selection, each channel once, in request order.
    /// - Throws: the ``ProtocolError`` to answer with.
    public static func parseValidated(
        rawPercentEncoded raw: Substring, limits: ChannelLimits
    ) throws(ProtocolError) -> [ChannelSelection] {
        let bytes = PercentDecoding.decodeBytes(raw)
        let count = segmentCount(bytes)
        guard count > 0 else { throw .noChannelID }
        if let max = limits.maxChannels, count > max { throw .tooManyChannels }
        var result: [ChannelSelection] = []
        result.reserveCapacity(count)
        var seen = Set<String>(minimumCapacity: count)
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.count
            let segment = bytes[start..<end]
            start = end + 1
            let (idEnd, backtrack) = peelBacktrack(segment)
            let id = segment[..<idEnd]
            if let refusal = refusal(forID: id, maxLength: limits.maxChannelIDLength) { throw refusal }
            guard UTF8Validation.isValid(id) else { throw .invalidChannelID }
            let channel = String(decoding: id, as: UTF8.self)
            if seen.insert(channel).inserted {
                result.append(ChannelSelection(channel: channel, backtrack: backtrack))
            }
        }
        try checkWildcards(result, limits: limits)
        return result
    }

    /// Splits an already percent-decoded path into channels, peeling a `.bN` suffix off each one.
    ///
    /// Mirrors push-stream's matching loop: a leading `/` or `//` yields an empty channel id, a single
    /// trailing `/` does not, and an entirely empty path yields no channel at all.
    public static func parse(_ decodedPath: String) -> [ChannelSelection] {
        var result: [ChannelSelection] = []
        // Split on the byte: as a `Character`, a `/` followed by a combining mark is not a `/`.
        var rest = Substring(decodedPath).utf8[...]
        while !rest.isEmpty {
            let segment: Substring.UTF8View
            if let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
                segment = rest[..<slash]
                rest = rest[rest.index(after: slash)...]
            } else {
                segment = rest
                rest = rest[rest.endIndex...]
            }
            result.append(selection(from: Substring(segment)))
        }
        return result
    }

    /// Peels a `.bN` suffix (N at least one decimal digit) off one segment.
    static func selection(from segment: Substring) -> ChannelSelection {
        let (idEnd, backtrack) = peelBacktrack(segment.utf8)
        // `idEnd` is at `.` or the end, both character boundaries.
        return ChannelSelection(channel: String(Substring(segment.utf8[..<idEnd])), backtrack: backtrack)
    }

    /// Where the id of `segment` ends and its backtrack count: `.bN` at the very end is the suffix.
    static func peelBacktrack<Bytes: BidirectionalCollection<UInt8>>(
        _ bytes: Bytes
    ) -> (idEnd: Bytes.Index, backtrack: Int) {
        var digitsStart = bytes.endIndex
        while digitsStart > bytes.startIndex {
            let before = bytes.index(before: digitsStart)
            guard bytes[before] >= UInt8(ascii: "0") && bytes[before] <= UInt8(ascii: "9") else { break }
            digitsStart = before
        }
        guard digitsStart < bytes.endIndex,
            bytes.distance(from: bytes.startIndex, to: digitsStart) >= 2
        else { return (bytes.endIndex, 0) }
        let bIndex = bytes.index(before: digitsStart)
        let dotIndex = bytes.index(before: bIndex)
        guard bytes[bIndex] == UInt8(ascii: "b"), bytes[dotIndex] == UInt8(ascii: ".") else {
            return (bytes.endIndex, 0)
        }
        // Saturate instead of failing: an absurd count just means "everything stored".
        var count = 0
        for digit in bytes[digitsStart...] {
            let (times10, o1) = count.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            if o1 || o2 {
                count = Int.max
                break
            }
            count = sum
        }
        return (dotIndex, count)
    }

    /// How many selections ``parse(_:)`` would make of `bytes`: one per `/`, plus one unless it ends with `/`.
    static func segmentCount(_ bytes: [UInt8]) -> Int {
        guard let last = bytes.last else { return 0 }
        var slashes = 0
        for byte in bytes where byte == UInt8(ascii: "/") { slashes += 1 }
        return last == UInt8(ascii: "/") ? slashes : slashes + 1
    }

    /// The first stateless rule `id` breaks, push-stream's first, or `nil`. UTF-8 validity is the
    /// caller's: a `String` is always valid, decoded bytes need ``UTF8Validation``.
    static func refusal(forID id: some Collection<UInt8>, maxLength: Int?) -> ProtocolError? {
        if id.elementsEqual("ALL".utf8) || id.contains(UInt8(ascii: "*")) { return .channelNotAuthorized }
        if let maxLength, id.count > maxLength { return .channelIDTooLarge }
        if id.contains(where: isForbiddenInID) { return .invalidChannelID }
        return nil
    }

    /// Control bytes would break lines of headers, logs and stats; braces the Redis hash tag.
    static func isForbiddenInID(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")
    }

    /// Applies the stateless checks, in push-stream's order, throwing the refusal the client must see.
    ///
    /// Prefer ``parseValidated(rawPercentEncoded:limits:)``, which also bounds the channel count
    /// first, refuses invalid UTF-8 and drops repeated ids. This one checks decoded ids: `ALL` or
    /// `*`, then the length, then control bytes and braces (``ProtocolError/invalidChannelID``).
    ///
    /// - Parameters:
    ///   - maxChannelIDLength: limit in UTF-8 bytes, `nil` for unlimited.
    ///   - wildcardPrefix: the wildcard channel prefix, `nil` or empty for no wildcard channels.
    ///   - maxWildcardChannels: per-request wildcard limit; the wildcard check only runs when it is set.
    ///   - isSubscriber: the wildcard rules only apply to subscriptions.
    public static func validate(
        _ selections: [ChannelSelection],
        maxChannelIDLength: Int?,
        wildcardPrefix: String?,
        maxWildcardChannels: Int?,
        isSubscriber: Bool
    ) throws(ProtocolError) {
        guard !selections.isEmpty else { throw .noChannelID }
        for selection in selections {
            if let refusal = refusal(forID: selection.channel.utf8, maxLength: maxChannelIDLength) { throw refusal }
        }
        let limits = ChannelLimits(
            wildcardPrefix: wildcardPrefix, maxWildcardChannels: maxWildcardChannels, isSubscriber: isSubscriber)
        try checkWildcards(selections, limits: limits)
    }

    /// push-stream's wildcard rule: at least one ordinary channel, at most the limit of wildcard ones.
    static func checkWildcards(_ selections: [ChannelSelection], limits: ChannelLimits) throws(ProtocolError) {
        guard limits.isSubscriber, let maxWildcards = limits.maxWildcardChannels else { return }
        let wildcards = selections.count { isWildcard($0.channel, prefix: limits.wildcardPrefix) }
        if wildcards > maxWildcards || wildcards == selections.count { throw .tooManyWildcardChannels }
    }

    /// Whether `channel` is a wildcard channel: it starts with a non-empty `prefix` (compared byte-wise).
    public static func isWildcard(_ channel: String, prefix: String?) -> Bool {
        guard let prefix, !prefix.isEmpty else { return false }
        return channel.utf8.starts(with: prefix.utf8)
    }
}
