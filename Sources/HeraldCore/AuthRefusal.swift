/// Why a subscriber was refused, as counted by `herald_auth_refusals_total`: a small fixed set,
/// so it can be a metric label.
public enum AuthRefusal: String, Sendable, Hashable, CaseIterable {
    /// No grant where one is required.
    case missing
    /// A grant that does not verify, or is not valid yet.
    case invalid
    /// A grant past its expiry.
    case expired
    /// A channel outside the grant or the app's answer, or another user's channel.
    case channel
    /// A page of an origin `--allowed-origins` does not list.
    case origin
    /// The app's cookie check answered 4xx.
    case appDenied = "app_denied"
    /// The app's cookie check failed, timed out or could not be reached.
    case appUnavailable = "app_unavailable"

    /// The reason of a refusal `error`; anything not named here counts as invalid.
    public init(_ error: ProtocolError?) {
        switch error {
        case .grantMissing?: self = .missing
        case .grantExpired?: self = .expired
        case .channelNotGranted?: self = .channel
        case .originNotAllowed?: self = .origin
        case CookieCheck.failed?, CookieCheck.timedOut?, CookieCheck.unavailable?: self = .appUnavailable
        case let error? where (400..<500).contains(error.status) && error.explain == CookieCheck.refusedExplain:
            self = .appDenied
        default: self = .invalid
        }
    }
}
