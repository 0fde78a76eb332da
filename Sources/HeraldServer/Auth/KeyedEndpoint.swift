import Crypto
import HeraldCore
import NIOCore
import NIOHTTP1

/// An endpoint behind a key: the publisher (`--publisher-key`) or the admin reads
/// (`--admin-key`). The request must carry `Authorization: Bearer <key>`; anything else is 401
/// before the endpoint sees it. CORS preflights pass, since browsers send them without
/// credentials.
struct KeyedEndpoint: Endpoint {
    let key: [UInt8]
    let inner: any Endpoint

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        if request.head.method == .OPTIONS || Self.carries(key, request) { return inner.serve(request, on: loop) }
        var headers = HTTPHeaders()
        headers.add(name: "WWW-Authenticate", value: "Bearer")
        return .answer(HTTPAnswer(error: .keyRequired, headers: headers))
    }

    /// Whether the request's bearer token is `key`, compared in constant time (the digests are):
    /// how long a refusal takes tells nothing about the key.
    static func carries(_ key: [UInt8], _ request: HTTPRequest) -> Bool {
        guard let header = request.head.headers.first(name: "Authorization"),
            let presented = SubscriberAuthorization.bearerToken(header)
        else { return false }
        return SHA256.hash(data: Array(presented.utf8)) == SHA256.hash(data: key)
    }
}
