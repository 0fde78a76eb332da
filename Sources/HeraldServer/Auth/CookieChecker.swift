import Crypto
import HeraldCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Asks the site's app whether a subscriber may read its channels (`--auth-url`): the app keeps
/// its own sessions, Herald forwards the browser's credentials. The rules of the question and
/// the answer are ``CookieCheck``'s; this is the I/O around them.
///
/// The app is protected from its push server: answers are cached per credentials and channel
/// set, checks for the same credentials are asked one at a time (a page opening ten tabs, or a
/// reconnect storm, is one request to the app, then cache hits), at most `maxPending` checks wait
/// at once, and every subscriber has its answer, or a 503, within the timeout.
final class CookieChecker: Sendable {
    struct Configuration: Sendable {
        var target: AppRequest.Target
        var cacheTTL: TimeAmount
        var timeout: TimeAmount
        var maxPending: Int
        var cacheSize: Int

        /// - Returns: nil for a URL that is not `http://host[:port][/path]`.
        init?(_ settings: NodeSettings, url: String) {
            guard let target = AppRequest.Target(url) else { return nil }
            self.target = target
            cacheTTL = .milliseconds(settings.authCacheTTL.milliseconds)
            timeout = .milliseconds(settings.authTimeout.milliseconds)
            maxPending = settings.authMaxPending
            cacheSize = settings.authCacheSize
        }
    }

    typealias Verdict = Result<Grant, ProtocolError>

    private enum Admission {
        case answered(Verdict)
        case full
        case queued(behind: EventLoopFuture<Verdict>?)
    }

    private struct State {
        /// Answers by (credentials, channels) digest.
        var cache: [SHA256Digest: (verdict: Verdict, until: NIODeadline)] = [:]
        /// Cache keys in insertion order, which is expiry order (one time to live for all).
        var order = CircularBuffer<(key: SHA256Digest, until: NIODeadline)>()
        /// Per credentials: the end of its queue (the last check asked or waiting) and its length.
        var queues: [SHA256Digest: (last: EventLoopFuture<Verdict>, length: Int)] = [:]
        var pending = 0

        mutating func cached(_ key: SHA256Digest, now: NIODeadline) -> Verdict? {
            guard let hit = cache[key], hit.until > now else { return nil }
            return hit.verdict
        }

        mutating func store(_ verdict: Verdict, for key: SHA256Digest, until: NIODeadline, now: NIODeadline, size: Int)
        {
            while let oldest = order.first, oldest.until <= now || order.count >= size {
                order.removeFirst()
                if cache[oldest.key]?.until == oldest.until { cache[oldest.key] = nil }
            }
            guard size > 0 else { return }
            cache[key] = (verdict, until)
            order.append((key, until))
        }
    }

    let configuration: Configuration
    private let state = NIOLockedValueBox(State())

    init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// The grant the app's answer amounts to for `request` joining `channels` in `mode`, or the
    /// refusal the subscriber gets. Completes on `loop`, within the timeout.
    func check(
        _ request: HTTPRequest, channels: [String], mode: SubscriberMode, on loop: any EventLoop
    ) -> EventLoopFuture<Grant> {
        let headers = request.head.headers
        let session = Self.credentials(of: headers)
        let key = Self.cacheKey(credentials: session, channels: channels)
        // One question at a time per session. Requests without any credentials are not one
        // session: theirs are one at a time per channel set (each asked once, then cached).
        let anonymous = !headers.contains(name: "Cookie") && !headers.contains(name: "Authorization")
        let credentials = anonymous ? key : session
        let now = NIODeadline.now()
        let deadline = now + configuration.timeout
        let promise = loop.makePromise(of: Verdict.self)
        let admission: Admission = state.withLockedValue { state in
            if let hit = state.cached(key, now: now) { return .answered(hit) }
            guard state.pending < configuration.maxPending else { return .full }
            state.pending += 1
            let previous = state.queues[credentials]
            state.queues[credentials] = (promise.futureResult, (previous?.length ?? 0) + 1)
            return .queued(behind: previous?.last)
        }
        switch admission {
        case .answered(let verdict):
            promise.succeed(verdict)
        case .full:
            promise.succeed(.failure(CookieCheck.unavailable))
        case .queued(let previous):
            let ask: @Sendable (Verdict?) -> Void = { [self] before in
                // The app did not answer the check before this one (same credentials): it is not
                // asked again for those waiting behind it.
                if case .failure(let error)? = before, error == CookieCheck.timedOut || error == CookieCheck.unavailable
                {
                    return promise.succeed(.failure(error))
                }
                // A check answered while this one waited (the same page's other tab) is reused.
                if let hit = state.withLockedValue({ $0.cached(key, now: .now()) }) { return promise.succeed(hit) }
                self.ask(request, channels: channels, mode: mode, deadline: deadline, on: loop).cascade(to: promise)
            }
            // Checks of one credentials are asked in arrival order, one at a time. Each ends by its
            // deadline, and deadlines follow arrival order, so no check waits past its own.
            if let previous {
                previous.hop(to: loop).whenSuccess { ask($0) }
            } else {
                ask(nil)
            }
            promise.futureResult.whenSuccess { [state, configuration] verdict in
                state.withLockedValue { state in
                    state.pending -= 1
                    if let queue = state.queues[credentials] {
                        state.queues[credentials] = queue.length <= 1 ? nil : (queue.last, queue.length - 1)
                    }
                    guard CookieCheck.isCacheable(verdict), configuration.cacheTTL > .zero else { return }
                    let now = NIODeadline.now()
                    state.store(
                        verdict, for: key, until: now + configuration.cacheTTL, now: now, size: configuration.cacheSize)
                }
            }
        }
        return promise.futureResult.flatMapThrowing { try $0.get() }
    }

    /// One request to the app. Fails never: every outcome is a verdict.
    private func ask(
        _ request: HTTPRequest, channels: [String], mode: SubscriberMode, deadline: NIODeadline,
        on loop: any EventLoop
    ) -> EventLoopFuture<Verdict> {
        guard deadline > .now() else { return loop.makeSucceededFuture(.failure(CookieCheck.timedOut)) }
        let question = Self.questionHeaders(request, channels, mode)
        return AppRequest.get(configuration.target, headers: question, deadline: deadline, on: loop).map(\.head).map {
            head in
            CookieCheck.verdict(
                status: Int(head.status.code), user: head.headers.first(name: CookieCheck.userHeader),
                channels: head.headers.first(name: CookieCheck.channelsHeader),
                expires: head.headers.first(name: CookieCheck.expiresHeader), requested: channels)
        }.recover { error in
            switch error as? AppRequest.Failure {
            case .timedOut?: .failure(CookieCheck.timedOut)
            case .broken?: .failure(CookieCheck.failed)
            case .unreachable?, nil: .failure(deadline <= .now() ? CookieCheck.timedOut : CookieCheck.unavailable)
            }
        }
    }

    /// What the app is told: the subscriber's credentials and origin, where it comes from, what
    /// it asked for and how.
    static func questionHeaders(_ request: HTTPRequest, _ channels: [String], _ mode: SubscriberMode) -> HTTPHeaders {
        let incoming = request.head.headers
        var headers = HTTPHeaders()
        let cookies = incoming[canonicalForm: "Cookie"]
        if !cookies.isEmpty { headers.add(name: "Cookie", value: cookies.joined(separator: "; ")) }
        for name in ["Authorization", "Origin", "User-Agent"] {
            if let value = incoming.first(name: name) { headers.add(name: name, value: value) }
        }
        // As a proxy would: the addresses the request came through, this hop's peer last.
        let forwarded = incoming[canonicalForm: "X-Forwarded-For"].joined(separator: ", ")
        let peer = request.remoteAddress?.ipAddress
        let chain = [forwarded, peer ?? ""].filter { !$0.isEmpty }.joined(separator: ", ")
        if !chain.isEmpty { headers.add(name: "X-Forwarded-For", value: chain) }
        headers.add(name: "X-Original-URI", value: request.head.uri)
        headers.add(name: CookieCheck.channelsHeader, value: CookieCheck.channelsValue(channels))
        headers.add(name: CookieCheck.modeHeader, value: mode.rawValue)
        return headers
    }

    /// The credentials a check is asked and cached by: the cookies and the `Authorization`
    /// header, as sent.
    static func credentials(of headers: HTTPHeaders) -> SHA256Digest {
        var hash = SHA256()
        for cookie in headers[canonicalForm: "Cookie"] {
            hash.update(data: Array(cookie.utf8))
            hash.update(data: [0])
        }
        hash.update(data: [1])
        if let authorization = headers.first(name: "Authorization") { hash.update(data: Array(authorization.utf8)) }
        return hash.finalize()
    }

    /// The cache key: credentials and the channel set (in any order).
    static func cacheKey(credentials: SHA256Digest, channels: [String]) -> SHA256Digest {
        var hash = SHA256()
        hash.update(data: Array(credentials))
        for channel in Set(channels).sorted() {
            hash.update(data: Array(channel.utf8))
            hash.update(data: [0])
        }
        return hash.finalize()
    }
}

/// `--auth-url` is not a URL the cookie check can ask.
public struct AuthURLError: Error, CustomStringConvertible {
    public let url: String
    public var description: String { "--auth-url must be http://host[:port][/path], not \(url)" }
}
