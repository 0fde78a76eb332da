import HeraldCore

/// The channels a request names, checked against every limit before any per-channel work.
enum ChannelRequest {
    /// The validated channels of a raw (still percent-encoded) channel list, each once, in request order.
    static func selections(
        _ raw: Substring, settings: NodeSettings, subscriber: Bool
    ) throws(ProtocolError) -> [ChannelSelection] {
        // Counting separators costs one pass over bytes already read; it must come before decoding.
        let segments = raw.utf8.reduce(1) { $1 == UInt8(ascii: "/") ? $0 + 1 : $0 }
        if segments > settings.maxChannelsPerSubscription + 1 { throw .tooManyChannels }
        var seen = Set<String>()
        let selections = ChannelPath.parse(PercentDecoding.decode(raw)).filter { seen.insert($0.channel).inserted }
        try ChannelPath.validate(
            selections, maxChannelIDLength: settings.maxChannelIDLength,
            wildcardPrefix: subscriber ? settings.wildcardChannelPrefix : nil,
            maxWildcardChannels: subscriber ? settings.wildcardChannelMaxQtd : nil, isSubscriber: subscriber)
        if selections.count > settings.maxChannelsPerSubscription { throw .tooManyChannels }
        return selections
    }
}
