import Crypto
import Foundation
import HeraldCore
import NIOCore
import NIOHTTP1

/// A subscriber location (`/sub`, `/ev`, `/lp`, `/jsonp`, `/ws`): checks the request, then serves it
/// in its mode — polling and long-polling answer; streaming, EventSource and WebSocket take the
/// connection over.
struct SubscriberEndpoint: Endpoint {
    let node: NodeContext
    let mode: SubscriberMode
    /// The channels part of the path, still percent-encoded.
    let channelsPath: Substring
    /// `/jsonp`: resume arguments in the query whatever the setting.
    let forceArguments: Bool

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        let head = request.head
        let settings = node.settings
        var headers = HTTPHeaders()
        let origin = head.headers.first(name: "Origin")
        ResponseHeaders.addCORS(policy: settings.originPolicy, origin: origin, methods: "GET", to: &headers)
        if head.method == .OPTIONS { return .answer(HTTPAnswer(status: .ok, headers: headers)) }
        // A page of another site may not subscribe (a WebSocket is not held back by CORS at all).
        if let policy = settings.originPolicy, !policy.admits(origin) {
            node.metrics.authRefused(ProtocolError.originNotAllowed)
            return .answer(HTTPAnswer(error: .originNotAllowed, headers: headers))
        }
        ResponseHeaders.addNoCache(to: &headers)
        guard head.method == .GET else { return .answer(.methodNotAllowed(allow: "GET", headers: headers)) }
        let mode = requestedMode(head)
        if node.isDraining {
            return .answer(HTTPAnswer(error: .engineUnavailable, headers: headers, closesConnection: true))
        }

        // Every limit is checked on the request as sent, before any per-channel work.
        let subscription: Subscription
        do {
            subscription = try Subscription(
                request, channelsPath: channelsPath, settings: settings,
                byArgument: forceArguments || settings.messagesControlByArgument, answersRequests: !mode.isLongLived)
        } catch {
            return .answer(HTTPAnswer(error: error, headers: headers))
        }

        // The grant first: nothing of the subscription (not even creating its channels) happens
        // for a request that may not read them.
        let node = self.node
        let selections = subscription.selections
        let authorization = SubscriberAuthorization(node: node)
        let validation = SubscriptionValidation(node: node)
        let admitted: @Sendable (Grant?) -> Grant? = { grant in
            // Counted once admitted: refused requests are in the refusal counters, not here.
            node.metrics.subscribed(mode)
            if let first = selections.first { node.cluster.subscriberArrived(firstChannel: first.channel) }
            return grant
        }
        // With nothing to check, the validation is the whole admission: two future steps fewer on
        // every connect.
        let admission =
            authorization.requiresNothing
            ? validation.validate(selections, on: loop).map { admitted(nil) }
            : authorization.authorize(request, channels: selections.map(\.channel), mode: mode, on: loop).flatMap {
                grant in validation.validate(selections, on: loop).map { admitted(grant) }
            }
        switch mode {
        case .webSocket:
            return WebSocketUpgrade(node: node).serve(
                head, headers: headers, subscription, admission: admission, on: loop)
        case .polling, .longPolling:
            let polling = PollingAnswers(node: node, request: request, subscription: subscription, headers: headers)
            return polling.serve(mode: mode, admission: admission, on: loop)
        case .streaming, .eventSource:
            let headers = headers
            return .later(
                admission.map { grant in
                    stream(head: head, mode: mode, subscription, grant: grant, headers: headers, on: loop)
                }
                .recover { .answer(HTTPAnswer(failure: $0, headers: headers)) })
        }
    }

    /// The location's mode, or polling / long-polling when `X-Nginx-PushStream-Mode` asks for it.
    private func requestedMode(_ head: HTTPRequestHead) -> SubscriberMode {
        guard mode != .webSocket, let requested = head.headers.first(name: "X-Nginx-PushStream-Mode")?.lowercased()
        else { return mode }
        switch requested {
        case "polling": return .polling
        case "long-polling": return .longPolling
        default: return mode
        }
    }

    private func stream(
        head: HTTPRequestHead, mode: SubscriberMode, _ subscription: Subscription, grant: Grant?,
        headers: HTTPHeaders, on loop: any EventLoop
    ) -> EndpointOutcome {
        var headers = headers
        let chunked = head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1)
        headers.add(
            name: "Content-Type",
            value: mode == .eventSource ? "text/event-stream; charset=utf-8" : "text/html; charset=utf-8")
        if chunked {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        } else {
            headers.add(name: "Connection", value: "close")
        }
        ResponseHeaders.addCommon(identity: node.settings.identity, to: &headers)
        let subscriber = StreamSubscriber(
            mode: mode, loop: loop, registry: node.registry, channels: subscription.channels, chunked: chunked)
        subscriber.admit(grant)
        let responseHead = ResponseHeaders.render(status: .ok, version: head.version, headers: headers)
        let ttl = node.settings.subscriberConnectionTTL
        return .takeOver(
            SubscriberTakeOver(handlers: [subscriber]) {
                subscriber.begin(responseHead: responseHead, connectionTTL: ttl)
            })
    }
}

/// The WebSocket handshake; the subscriber validates after the `101`, as push-stream does.
struct WebSocketUpgrade {
    let node: NodeContext

    func serve(
        _ head: HTTPRequestHead, headers: HTTPHeaders, _ subscription: Subscription,
        admission: EventLoopFuture<Grant?>, on loop: any EventLoop
    ) -> EndpointResult {
        let required = ["Connection", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"]
        guard required.allSatisfy({ head.headers.contains(name: $0) }) else {
            return .answer(HTTPAnswer(error: .webSocketMissingHeaders, headers: headers))
        }
        let version = head.headers.first(name: "Sec-WebSocket-Version")!.trimmingCharacters(in: .whitespaces)
        guard version == "8" || version == "13" else {
            var headers = headers
            headers.add(name: "Sec-WebSocket-Version", value: "8, 13")
            return .answer(HTTPAnswer(error: .webSocketVersionNotSupported, headers: headers))
        }
        let key = head.headers.first(name: "Sec-WebSocket-Key")!.trimmingCharacters(in: .whitespaces)
        var upgradeHeaders = HTTPHeaders()
        upgradeHeaders.add(name: "Upgrade", value: "WebSocket")
        upgradeHeaders.add(name: "Connection", value: "Upgrade")
        upgradeHeaders.add(name: "Sec-WebSocket-Accept", value: Self.accept(key: key))
        ResponseHeaders.addCommon(identity: node.settings.identity, to: &upgradeHeaders)
        for (name, value) in headers where name.lowercased().hasPrefix("access-control") {
            upgradeHeaders.add(name: name, value: value)
        }
        let subscriber = WebSocketSubscriber(loop: loop, registry: node.registry, channels: subscription.channels)
        let responseHead = ResponseHeaders.render(
            status: .switchingProtocols, version: head.version, headers: upgradeHeaders)
        let ttl = node.settings.subscriberConnectionTTL
        return .now(
            .takeOver(
                SubscriberTakeOver(handlers: [subscriber]) {
                    subscriber.beginAfterValidation(admission, responseHead: responseHead, connectionTTL: ttl)
                }))
    }

    /// `Sec-WebSocket-Accept`: base64(SHA-1(key + RFC 6455's GUID)).
    static func accept(key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}
