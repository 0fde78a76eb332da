import Crypto
import HeraldCore
import NIOCore
import NIOHTTP1

/// An endpoint behind a key: the publisher (`--publisher-key`) or the admin reads
/// (`--admin-key`). The request must carry `Authorization: Bearer <key>`; anything else is 401
/// before the endpoint sees it. CORS preflights pass, since browsers send them without
/// credentials.
struct KeyedEndpoint: Endpoint {
    /// The key's SHA-256, computed once per node (``digest(of:)``).
    let keyDigest: SHA256Digest
    let inner: any Endpoint

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        if request.head.method == .OPTIONS || Self.carries(keyDigest, request) {
            return inner.serve(request, on: loop)
        }
        var headers = HTTPHeaders()
        headers.add(name: "WWW-Authenticate", value: "Bearer")
        return .answer(HTTPAnswer(error: .keyRequired, headers: headers))
    }

    /// The digest a configured key is compared by; nil for no key.
    static func digest(of key: String?) -> SHA256Digest? {
        guard let key, !key.isEmpty else { return nil }
        return SHA256.hash(data: Array(key.utf8))
    }

    /// Whether the request's bearer token is the key, compared by digest (in constant time):
    /// how long a refusal takes tells nothing about the key.
    static func carries(_ keyDigest: SHA256Digest, _ request: HTTPRequest) -> Bool {
        guard let header = request.head.headers.first(name: "Authorization"),
            let presented = SubscriberAuthorization.bearerToken(header)
        else { return false }
        return SHA256.hash(data: Array(presented.utf8)) == keyDigest
    }
}
