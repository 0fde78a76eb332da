/// A request the protocol refuses, with the HTTP status and the
/// `X-Nginx-PushStream-Explain` text push-stream clients expect.
///
/// A struct over static members rather than an enum, so new refusals can be
/// added without breaking exhaustive switches.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The HTTP status code of the refusal.
    public let status: Int
    /// The explain header's text, or `nil` for a bare status.
    public let explain: String?

    public init(status: Int, explain: String?) {
        self.status = status
        self.explain = explain
    }

    public var description: String { explain.map { "\(status) \($0)" } ?? "\(status)" }

    public static let noChannelID = ProtocolError(status: 400, explain: "No channel id provided.")
    public static let channelIDTooLarge = ProtocolError(status: 400, explain: "Channel id is too large.")
    /// A channel id with a control byte, `{` or `}` (they would move the Redis Cluster hash tag),
    /// or bytes that are not UTF-8 once percent-decoded.
    public static let invalidChannelID = ProtocolError(status: 400, explain: "Channel id is invalid.")
    public static let channelNotAuthorized = ProtocolError(
        status: 403, explain: "Channel id not authorized for this method.")
    public static let emptyPost = ProtocolError(status: 400, explain: "Empty post requests are not allowed.")
    public static let invalidIdempotencyKey = ProtocolError(status: 400, explain: "Idempotency-Key is invalid.")
    public static let eventsChannelReadOnly = ProtocolError(
        status: 403, explain: "Only internal routines can change events channel.")
    public static let tooManyWildcardChannels = ProtocolError(
        status: 403, explain: "Subscribed too much wildcard channels.")
    public static let subscriberCannotCreateChannels = ProtocolError(
        status: 403, explain: "Subscriber could not create channels.")
    public static let subscribersLimitExceeded = ProtocolError(
        status: 403, explain: "Subscribers limit per channel has been exceeded.")
    public static let eventsChannelSubscriptionNotAllowed = ProtocolError(
        status: 403, explain: "Subscription to events channel is not allowed.")
    public static let channelsLimitExceeded = ProtocolError(status: 403, explain: "Number of channels were exceeded.")
    public static let webSocketMissingHeaders = ProtocolError(
        status: 400,
        explain:
            "Don't have at least one of the mandatory headers: Connection, Upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version"
    )
    public static let webSocketVersionNotSupported = ProtocolError(
        status: 400, explain: "Version not supported. Supported versions: 8, 13")
    public static let tooManyChannels = ProtocolError(
        status: 400, explain: "Too many channels in one subscription.")
    public static let messageTooLarge = ProtocolError(status: 413, explain: "Message is too large.")
    /// A JSONP `callback` that is not a plain JavaScript name path (see ``JSONPCallback``).
    public static let invalidCallback = ProtocolError(status: 400, explain: "invalid callback")
    public static let notFound = ProtocolError(status: 404, explain: nil)
    public static let methodNotAllowed = ProtocolError(status: 405, explain: nil)
    public static let channelDeleted = ProtocolError(status: 200, explain: "Channel deleted.")
    public static let requestTooLarge = ProtocolError(status: 413, explain: "Request is too large.")
    public static let cursorTooLarge = ProtocolError(status: 400, explain: "Resume cursor is too large.")
    public static let requestTimeout = ProtocolError(status: 408, explain: "Request took too long.")
    public static let malformedRequest = ProtocolError(status: 400, explain: "Malformed request.")
    public static let headersTooLarge = ProtocolError(status: 431, explain: "Request headers are too large.")
    public static let engineUnavailable = ProtocolError(status: 503, explain: "Message store unavailable.")
    /// Published, but not on the replicas `--publish-durability` asks for within its timeout.
    public static let notReplicated = ProtocolError(status: 503, explain: "Message was not replicated in time.")

    // Grants (signed tokens) and keys.
    /// No grant where one is required (`?token=`, `Authorization: Bearer`, or the grant cookie).
    public static let grantMissing = ProtocolError(status: 401, explain: "A grant is required.")
    /// Not a token, a signature that does not verify, or an algorithm or key not configured.
    public static let grantInvalid = ProtocolError(status: 403, explain: "Grant is not valid.")
    public static let grantExpired = ProtocolError(status: 403, explain: "Grant has expired.")
    public static let grantNotYetValid = ProtocolError(status: 403, explain: "Grant is not valid yet.")
    public static let channelNotGranted = ProtocolError(status: 403, explain: "Channel is not in the grant.")
    /// A subscriber request from a browser page of an origin `--allowed-origins` does not list.
    public static let originNotAllowed = ProtocolError(status: 403, explain: "Origin is not allowed.")
    /// The publisher or admin key is missing or wrong.
    public static let keyRequired = ProtocolError(status: 401, explain: "A valid key is required.")
}
