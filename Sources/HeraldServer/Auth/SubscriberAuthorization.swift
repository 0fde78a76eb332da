import Foundation
import HeraldCore
import HeraldPublisher
import NIOCore
import NIOHTTP1

/// Decides whether a subscribe request may read its channels. A request carrying a grant
/// (`?token=`, `Authorization: Bearer`, or the grant cookie) is checked by its signature and
/// claims when the node has a grant key; otherwise, with `--auth-url`, the app's cookie check
/// decides; with neither configured, anyone may subscribe. Nothing else of the subscription
/// (channel creation, joining) happens before this has said yes.
struct SubscriberAuthorization {
    let node: NodeContext

    /// Whether every request may subscribe: the node has neither a grant key nor a cookie check.
    var requiresNothing: Bool { node.grants == nil && node.cookieChecker == nil }

    /// What the request may read, checked for `channels`; `nil` when the node requires nothing.
    /// Fails with the refusal the client must see (401 without credentials, 403 for a bad grant
    /// or channel, the app's status for its refusal, 503 when the app does not answer).
    func authorize(
        _ request: HTTPRequest, channels: [String], mode: SubscriberMode, on loop: any EventLoop
    ) -> EventLoopFuture<Grant?> {
        let metrics = node.metrics
        let decision = decide(request, channels: channels, mode: mode, on: loop)
        decision.whenFailure { metrics.authRefused($0) }
        return decision
    }

    private func decide(
        _ request: HTTPRequest, channels: [String], mode: SubscriberMode, on loop: any EventLoop
    ) -> EventLoopFuture<Grant?> {
        let userChannelPrefix = node.settings.userChannelPrefix
        if let verifier = node.grants, let token = Self.token(in: request, cookie: node.settings.grantCookie) {
            let promise = loop.makePromise(of: Grant?.self)
            promise.completeWithTask {
                guard let grant = await verifier.grant(token) else { throw ProtocolError.grantInvalid }
                try grant.authorize(channels, now: UnixClock.now(), userChannelPrefix: userChannelPrefix)
                return grant
            }
            return promise.futureResult
        }
        if let checker = node.cookieChecker {
            return checker.check(request, channels: channels, mode: mode, on: loop).flatMapThrowing { grant in
                try grant.authorize(channels, now: UnixClock.now(), userChannelPrefix: userChannelPrefix)
                return grant
            }
        }
        guard node.grants == nil else { return loop.makeFailedFuture(ProtocolError.grantMissing) }
        return loop.makeSucceededFuture(nil)
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
