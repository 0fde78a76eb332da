import HeraldCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// One plain-HTTP `GET` on a connection of its own, bounded by a deadline: the cookie check's
/// question to the site's app (which only needs the status and headers), and the `herald` CLI's
/// queries to a node's admin API (which read the body).
///
/// Written here rather than with async-http-client: the check is one plain-HTTP request to one
/// configured app on the private network, which SwiftNIO's HTTP/1 codec does in a page, while
/// async-http-client brings TLS, HTTP/2 and their C libraries into every build (it doubled a clean
/// CI build on two cores). A check reaches the app over `http://`; put TLS at a proxy if the app
/// is elsewhere.
public struct AppRequest {
    /// Where the app listens, and the path (with query) to ask.
    public struct Target: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var path: String

        /// `http://host[:port][/path]`; nil for anything else (https, no host, a bad port).
        public init?(_ url: String) {
            guard url.hasPrefix("http://") else { return nil }
            let rest = url.dropFirst("http://".count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<slash]
            path = slash == rest.endIndex ? "/" : String(rest[slash...])
            guard !authority.isEmpty, !authority.contains("@") else { return nil }
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return nil }
                host = String(authority[authority.index(after: authority.startIndex)..<close])
                let after = authority[authority.index(after: close)...]
                if after.isEmpty {
                    port = 80
                } else {
                    guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { return nil }
                    port = number
                }
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                guard let number = Int(authority[authority.index(after: colon)...]) else { return nil }
                port = number
            } else {
                host = String(authority)
                port = 80
            }
            guard !host.isEmpty, (1...65_535).contains(port) else { return nil }
        }

        /// The `Host` header.
        var hostHeader: String {
            let name = host.contains(":") ? "[\(host)]" : host
            return port == 80 ? name : "\(name):\(port)"
        }
    }

    /// Why no answer came.
    public enum Failure: Error {
        case timedOut
        case unreachable
        /// An answer that is not HTTP, or whose body passes ``maxBodyBytes``.
        case broken
    }

    /// An answer: its head, and its body when it was asked for.
    public struct Answer: Sendable {
        public var head: HTTPResponseHead
        public var body: [UInt8]
    }

    /// The largest body the cookie check reads (and discards) before the answer counts as broken.
    public static let maxBodyBytes = 16 * 1024

    /// The answer, or a ``Failure`` by `deadline`. A body past `maxBodyBytes` makes it broken;
    /// it is kept only when `keepBody` is set.
    public static func get(
        _ target: Target, headers: HTTPHeaders, deadline: NIODeadline, maxBodyBytes: Int = maxBodyBytes,
        keepBody: Bool = false, on loop: any EventLoop
    ) -> EventLoopFuture<Answer> {
        let promise = loop.makePromise(of: Answer.self)
        let timeout = deadline - .now()
        guard timeout > .zero else { return loop.makeFailedFuture(Failure.timedOut) }
        let timer = loop.scheduleTask(deadline: deadline) { promise.fail(Failure.timedOut) }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.path, headers: headers)
        head.headers.replaceOrAdd(name: "Host", value: target.hostHeader)
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        let request = head
        let connected = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(AnswerReader(promise: promise, maxBodyBytes: maxBodyBytes, keepBody: keepBody))
                }
            }
            .connect(host: target.host, port: target.port)
        connected.whenSuccess { channel in
            channel.writeAndFlush(HTTPClientRequestPart.head(request), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            // However it ends (answer, deadline, error), the connection goes with it.
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
        connected.whenFailure { error in
            if case ChannelError.connectTimeout = error { return promise.fail(Failure.timedOut) }
            promise.fail(Failure.unreachable)
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }

    /// Completes the promise once the answer is complete (its body read, and kept if asked);
    /// a connection that ends first, or a body too large, fails it.
    private final class AnswerReader: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        private let promise: EventLoopPromise<Answer>
        private let maxBodyBytes: Int
        private let keepBody: Bool
        private var head: HTTPResponseHead?
        private var body: [UInt8] = []
        private var bodyBytes = 0

        init(promise: EventLoopPromise<Answer>, maxBodyBytes: Int, keepBody: Bool) {
            self.promise = promise
            self.maxBodyBytes = maxBodyBytes
            self.keepBody = keepBody
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                // An interim answer (100 Continue) is not the answer.
                if head.status.code >= 200 { self.head = head }
            case .body(let buffer):
                bodyBytes += buffer.readableBytes
                if bodyBytes > maxBodyBytes { return promise.fail(Failure.broken) }
                if keepBody { body += buffer.readableBytesView }
            case .end:
                if let head { promise.succeed(Answer(head: head, body: body)) }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure.unreachable)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error is HTTPParserError ? Failure.broken : Failure.unreachable)
            context.close(promise: nil)
        }
    }
}
