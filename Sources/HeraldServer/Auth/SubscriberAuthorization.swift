import Foundation
import HeraldCore
import NIOCore
import NIOHTTP1

/// Decides whether a subscribe request may read its channels: with a grant key set, the request
/// must carry a grant (`?token=`, `Authorization: Bearer`, or the grant cookie) whose signature
/// verifies and whose claims cover every channel, now. Nothing else of the subscription (channel
/// creation, joining) happens before this has said yes.
struct SubscriberAuthorization {
    let node: NodeContext

    /// The request's grant, checked for `channels`; `nil` when the node requires none.
    /// Fails with the refusal the client must see (401 without a grant, 403 otherwise).
    func authorize(_ request: HTTPRequest, channels: [String], on loop: any EventLoop) -> EventLoopFuture<Grant?> {
        guard let verifier = node.grants else { return loop.makeSucceededFuture(nil) }
        guard let token = Self.token(in: request, cookie: node.settings.grantCookie) else {
            return loop.makeFailedFuture(ProtocolError.grantMissing)
        }
        let userChannelPrefix = node.settings.userChannelPrefix
        let promise = loop.makePromise(of: Grant?.self)
        promise.completeWithTask {
            guard let grant = await verifier.grant(token) else { throw ProtocolError.grantInvalid }
            try grant.authorize(channels, now: UnixClock.now(), userChannelPrefix: userChannelPrefix)
            return grant
        }
        return promise.futureResult
    }

    /// The grant a request carries: the `token` argument, then a bearer `Authorization`, then the
    /// cookie named `cookie`. A browser's `WebSocket` and `EventSource` cannot set headers, hence
    /// the argument and the cookie.
    static func token(in request: HTTPRequest, cookie: String?) -> String? {
        if let argument = request.argument("token"), !argument.isEmpty { return argument }
        if let authorization = request.head.headers.first(name: "Authorization"),
            let bearer = bearerToken(authorization)
        {
            return bearer
        }
        guard let cookie, !cookie.isEmpty else { return nil }
        for header in request.head.headers[canonicalForm: "Cookie"] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == cookie else { continue }
                let value = trimmed[trimmed.index(after: equals)...]
                if !value.isEmpty { return String(value) }
            }
        }
        return nil
    }

    /// `Bearer <token>`, the scheme compared case-insensitively (RFC 9110).
    static func bearerToken(_ authorization: String) -> String? {
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
