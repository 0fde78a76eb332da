/// What a subscriber may read: the claims of a signed grant (a JWT the site mints when it renders
/// a page), checked without I/O.
///
/// Claims: `sub` (the user), `channels` (exact channel ids), `channel_prefixes` (ids starting
/// with one of them), `exp` and `nbf` (Unix seconds), and `publish` (channel ids or prefixes
/// ending in `*` the holder may publish to over WebSocket). With a user channel prefix
/// (`--user-channel-prefix user:`), a grant for user `42` also allows `user:42`, and no grant
/// allows another user's channel, whatever its other claims say.
public struct Grant: Sendable, Hashable {
    /// The user the grant was issued to (`sub`), if any.
    public var user: String?
    /// Channel ids allowed exactly.
    public var channels: Set<String>
    /// Channel id prefixes allowed.
    public var channelPrefixes: [String]
    /// When the grant ends (Unix seconds), if it does.
    public var expires: Int64?
    /// When the grant starts (Unix seconds), if not at once.
    public var notBefore: Int64?
    /// Channels its holder may publish to over WebSocket (`publish`): ids, or prefixes ending in `*`.
    public var publish: [String]

    public init(
        user: String? = nil, channels: Set<String> = [], channelPrefixes: [String] = [], expires: Int64? = nil,
        notBefore: Int64? = nil, publish: [String] = []
    ) {
        self.user = user
        self.channels = channels
        self.channelPrefixes = channelPrefixes
        self.expires = expires
        self.notBefore = notBefore
        self.publish = publish
    }

    /// Whether the grant lets its holder publish to `channel` (WebSocket publishing): a `publish`
    /// entry names it, or is a prefix of it ending in `*`. Reading it is checked separately.
    public func allowsPublishing(to channel: String) -> Bool {
        publish.contains { entry in
            entry.hasSuffix("*") ? !entry.dropLast().isEmpty && channel.hasPrefix(entry.dropLast()) : entry == channel
        }
    }

    /// Whether the grant lets its holder read `channel`.
    ///
    /// - Parameter userChannelPrefix: channels under it belong to one user each: only
    ///   `prefix + user` is allowed, to that user, and always.
    public func allows(_ channel: String, userChannelPrefix: String? = nil) -> Bool {
        if let userChannelPrefix, !userChannelPrefix.isEmpty, channel.hasPrefix(userChannelPrefix) {
            guard let user, !user.isEmpty else { return false }
            return channel == userChannelPrefix + user
        }
        return channels.contains(channel) || channelPrefixes.contains { !$0.isEmpty && channel.hasPrefix($0) }
    }

    /// Checks the grant at `now` for every channel of a subscription.
    ///
    /// - Throws: ``ProtocolError/grantNotYetValid``, ``ProtocolError/grantExpired`` or
    ///   ``ProtocolError/channelNotGranted``, in that order of precedence.
    public func authorize(
        _ channels: some Sequence<String>, now: Int64, userChannelPrefix: String? = nil
    ) throws(ProtocolError) {
        if let notBefore, now < notBefore { throw .grantNotYetValid }
        if let expires, now >= expires { throw .grantExpired }
        for channel in channels where !allows(channel, userChannelPrefix: userChannelPrefix) {
            throw .channelNotGranted
        }
    }
}
