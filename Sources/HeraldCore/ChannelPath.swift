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
public enum ChannelPath {
    /// Splits an already percent-decoded path into channels, peeling a `.bN` suffix off each one.
    ///
    /// Mirrors push-stream's matching loop: a leading `/` or `//` yields an empty channel id, a single
    /// trailing `/` does not, and an entirely empty path yields no channel at all.
    public static func parse(_ decodedPath: String) -> [ChannelSelection] {
        var result: [ChannelSelection] = []
        var rest = Substring(decodedPath)
        while !rest.isEmpty {
            let segment: Substring
            if let slash = rest.firstIndex(of: "/") {
                segment = rest[..<slash]
                rest = rest[rest.index(after: slash)...]
            } else {
                segment = rest
                rest = rest[rest.endIndex...]
            }
            result.append(selection(from: segment))
        }
        return result
    }

    /// Peels a `.bN` suffix (N at least one decimal digit) off one segment.
    static func selection(from segment: Substring) -> ChannelSelection {
        let bytes = segment.utf8
        var digitsStart = bytes.endIndex
        while digitsStart > bytes.startIndex {
            let before = bytes.index(before: digitsStart)
            guard bytes[before] >= UInt8(ascii: "0") && bytes[before] <= UInt8(ascii: "9") else { break }
            digitsStart = before
        }
        guard digitsStart < bytes.endIndex,
            bytes.distance(from: bytes.startIndex, to: digitsStart) >= 2
        else {
            return ChannelSelection(channel: String(segment), backtrack: 0)
        }
        let bIndex = bytes.index(before: digitsStart)
        let dotIndex = bytes.index(before: bIndex)
        guard bytes[bIndex] == UInt8(ascii: "b"), bytes[dotIndex] == UInt8(ascii: ".") else {
            return ChannelSelection(channel: String(segment), backtrack: 0)
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
        let channel = String(Substring(bytes[..<dotIndex]))
        return ChannelSelection(channel: channel, backtrack: count)
    }

    /// Applies the stateless checks, in push-stream's order, throwing the refusal the client must see.
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
            let id = selection.channel
            if id == "ALL" || id.utf8.contains(UInt8(ascii: "*")) { throw .channelNotAuthorized }
            if let max = maxChannelIDLength, id.utf8.count > max { throw .channelIDTooLarge }
        }
        guard isSubscriber, let maxWildcards = maxWildcardChannels else { return }
        let wildcards = selections.count { isWildcard($0.channel, prefix: wildcardPrefix) }
        if wildcards > maxWildcards || wildcards == selections.count { throw .tooManyWildcardChannels }
    }

    /// Whether `channel` is a wildcard channel: it starts with a non-empty `prefix` (compared byte-wise).
    public static func isWildcard(_ channel: String, prefix: String?) -> Bool {
        guard let prefix, !prefix.isEmpty else { return false }
        return channel.utf8.starts(with: prefix.utf8)
    }
}
