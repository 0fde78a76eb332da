/// The app's cookie check (`--auth-url`), without I/O: what Herald tells the app about a
/// subscriber, and what the app's answer amounts to.
///
/// The node asks the app with the subscriber's `Cookie` and `Authorization` headers and the
/// channels it asked for (``channelsHeader``). A 2xx answer allows; it may name the user
/// (``userHeader``), narrow the channels to a list of names and `prefix*` entries
/// (``channelsHeader``), and end the permission at a Unix second (``expiresHeader``). Any 4xx
/// denies with that status; anything else (the app failing) is a 503, as is no answer in time.
public enum CookieCheck {
    /// Herald → app: the channels requested, comma-separated, each percent-encoded.
    /// App → Herald: the channels the user may read, the same way, `prefix*` for a prefix.
    public static let channelsHeader = "X-Herald-Channels"
    /// App → Herald: who the subscriber is (presence, the user channel).
    public static let userHeader = "X-Herald-User"
    /// App → Herald: when the permission ends (Unix seconds); the subscription then ends as an
    /// expired grant does (notice -5), and the client checks again.
    public static let expiresHeader = "X-Herald-Expires"
    /// Herald → app: the transport (`eventsource`, `websocket`, `long-polling`, ...).
    public static let modeHeader = "X-Herald-Mode"

    /// The explain text of a refusal the app answered with 4xx (the status is the app's).
    public static let refusedExplain = "Authorization check refused."
    /// The app answered with a status outside 2xx and 4xx (or a 2xx Herald cannot read).
    public static let failed = ProtocolError(status: 503, explain: "Authorization check failed.")
    /// The app did not answer within the timeout.
    public static let timedOut = ProtocolError(status: 503, explain: "Authorization check timed out.")
    /// The app could not be reached, or too many checks are already waiting for it.
    public static let unavailable = ProtocolError(status: 503, explain: "Authorization check unavailable.")

    /// The value of ``channelsHeader`` for `channels`: each percent-encoded as
    /// `encodeURIComponent` does, and `*` too, so a channel whose name ends in `*` is never read
    /// back as a prefix.
    public static func channelsValue(_ channels: some Sequence<String>) -> String {
        channels.map { PercentDecoding.encodeComponent($0, alsoEscaping: UInt8(ascii: "*")) }.joined(separator: ",")
    }

    /// The grant a 2xx answer amounts to, for a subscription to `requested`; the refusal for any
    /// other status. Channels and user are checked by ``Grant/authorize(_:now:userChannelPrefix:)``
    /// as for a signed grant.
    ///
    /// - Parameters:
    ///   - channels: the app's ``channelsHeader``; without it every requested channel is allowed
    ///     (other users' channels still are not).
    ///   - expires: the app's ``expiresHeader``.
    public static func verdict(
        status: Int, user: String?, channels: String?, expires: String?, requested: [String]
    ) -> Result<Grant, ProtocolError> {
        switch status {
        case 200..<300: break
        case 400..<500: return .failure(ProtocolError(status: status, explain: refusedExplain))
        default: return .failure(failed)
        }
        var grant = Grant()
        if let user = user.map({ $0[...].trimmed }), !user.isEmpty { grant.user = String(user) }
        if let expires = expires.map({ $0[...].trimmed }), !expires.isEmpty {
            guard let seconds = Int64(expires), seconds > 0 else { return .failure(failed) }
            grant.expires = seconds
        }
        guard let channels else {
            grant.channels = Set(requested)
            return .success(grant)
        }
        for entry in channels.split(separator: ",") {
            let raw = entry.trimmed
            if raw.hasSuffix("*") {
                let prefix = PercentDecoding.decode(raw.dropLast())
                if !prefix.isEmpty { grant.channelPrefixes.append(prefix) }
            } else if !raw.isEmpty {
                grant.channels.insert(PercentDecoding.decode(raw))
            }
        }
        return .success(grant)
    }

    /// Whether an answer may be reused for the cache time: the app's own answers are; its
    /// failures, timeouts and being unreachable are not (the next subscriber asks again).
    public static func isCacheable(_ verdict: Result<Grant, ProtocolError>) -> Bool {
        switch verdict {
        case .success: true
        case .failure(let error): (400..<500).contains(error.status)
        }
    }
}

extension Substring {
    /// Without the spaces and tabs around it.
    fileprivate var trimmed: Substring {
        let start = firstIndex { $0 != " " && $0 != "\t" } ?? endIndex
        let end = lastIndex { $0 != " " && $0 != "\t" }.map(index(after:)) ?? start
        return self[start..<Swift.max(start, end)]
    }
}
