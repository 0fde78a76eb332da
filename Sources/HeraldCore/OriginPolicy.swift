/// Which web origins may use a node from a browser (`--allowed-origins`): push-stream's `*`, or a
/// comma-separated list of origins (`https://example.com,https://app.example.com`).
///
/// With `*` every origin gets `Access-Control-Allow-Origin: *` (and, as browsers require, no
/// credentials). With a list, only a listed origin is answered, with its own name, `Vary: Origin`
/// and `Access-Control-Allow-Credentials: true`, so pages can send the grant cookie; a subscriber
/// request from any other origin is refused. Requests without an `Origin` (not from a browser
/// page) are not concerned.
public enum OriginPolicy: Sendable, Hashable {
    case any
    case list(Set<String>)

    /// The policy `--allowed-origins` describes; nil for none (no CORS, no origin check).
    public init?(_ text: String?) {
        guard let text else { return nil }
        let trimmed = text.trimmingASCIIWhitespace
        if trimmed.isEmpty { return nil }
        if trimmed == "*" {
            self = .any
            return
        }
        let origins = trimmed.split(separator: ",").map { Substring($0).trimmingASCIIWhitespace }.filter {
            !$0.isEmpty
        }
        guard !origins.isEmpty else { return nil }
        self = .list(Set(origins.map { OriginPolicy.normalized($0) }))
    }

    /// What `Access-Control-Allow-Origin` says to a request from `origin`; nil: no CORS header.
    public func allowOrigin(for origin: String?) -> String? {
        switch self {
        case .any: return "*"
        case .list: return origin.flatMap { admits($0) ? $0 : nil }
        }
    }

    /// Whether credentialed requests (cookies) are allowed: only with a list.
    public var allowsCredentials: Bool {
        if case .list = self { return true }
        return false
    }

    /// Whether a request from `origin` (its `Origin` header, if any) may subscribe.
    public func admits(_ origin: String?) -> Bool {
        guard let origin else { return true }
        switch self {
        case .any: return true
        case .list(let origins): return origins.contains(OriginPolicy.normalized(origin))
        }
    }

    /// Scheme and host are case-insensitive, and a trailing `/` is not part of an origin.
    static func normalized(_ origin: some StringProtocol) -> String {
        var text = String(origin).lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

extension StringProtocol {
    fileprivate var trimmingASCIIWhitespace: String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isBlank).reversed().drop(while: isBlank).reversed())
    }
}
