/// The limits a request's channel list must respect, checked by
/// ``ChannelPath/parseValidated(rawPercentEncoded:limits:)`` before any per-channel work.
///
/// Build one per location from the node's settings and reuse it: it is a plain value.
public struct ChannelLimits: Hashable, Sendable {
    /// The longest channel id, in UTF-8 bytes after percent-decoding (`.bN` not counted);
    /// `nil` for unlimited (push-stream's `push_stream_max_channel_id_length`).
    public var maxChannelIDLength: Int?
    /// The most `/`-separated channels one request may name, duplicates included; `nil` for unlimited.
    public var maxChannels: Int?
    /// The wildcard channel prefix; `nil` or empty for no wildcard channels.
    public var wildcardPrefix: String?
    /// How many wildcard channels one subscription may name; the wildcard rules only apply when set.
    public var maxWildcardChannels: Int?
    /// Whether the request subscribes: the wildcard rules only apply to subscriptions.
    public var isSubscriber: Bool

    /// Limits for a request; every limit defaults to none.
    public init(
        maxChannelIDLength: Int? = nil, maxChannels: Int? = nil, wildcardPrefix: String? = nil,
        maxWildcardChannels: Int? = nil, isSubscriber: Bool
    ) {
        self.maxChannelIDLength = maxChannelIDLength
        self.maxChannels = maxChannels
        self.wildcardPrefix = wildcardPrefix
        self.maxWildcardChannels = maxWildcardChannels
        self.isSubscriber = isSubscriber
    }
}
