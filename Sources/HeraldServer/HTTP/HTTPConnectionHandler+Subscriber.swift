import Crypto
import Foundation
import HeraldCore
import NIOCore
import NIOHTTP1

extension HTTPConnectionHandler {
    /// A subscriber location: validates, then serves the request in its mode.
    func handleSubscriber(_ request: HTTPRequest, mode: SubscriberMode, channelsPath: Substring, forceArguments: Bool) {
        let head = request.head
        let settings = node.settings
        var headers = HTTPHeaders()
        ResponseHeaders.addCORS(origin: settings.allowedOrigins, methods: "GET", to: &headers)
        if head.method == .OPTIONS { return respond(head: head, status: .ok, headers: headers) }
        ResponseHeaders.addNoCache(to: &headers)
        guard head.method == .GET else {
            headers.add(name: "Allow", value: "GET")
            return respond(head: head, error: .methodNotAllowed, headers: headers)
        }
        var mode = mode
        if mode != .webSocket, let requested = head.headers.first(name: "X-Nginx-PushStream-Mode")?.lowercased() {
            if requested == "polling" { mode = .polling }
            if requested == "long-polling" { mode = .longPolling }
        }
        if node.isDraining { return respond(head: head, error: .engineUnavailable, headers: headers, close: true) }

        let path = channelsPath.isEmpty ? (request.argument("channels") ?? "") : PercentDecoding.decode(channelsPath)
        let selections = Self.uniqueSelections(ChannelPath.parse(path))
        let resume = ResumeRequest(
            head: head, arguments: request.argument(_:),
            byArgument: forceArguments || settings.messagesControlByArgument)
        let subscriptions = selections.map { ChannelSubscription(channel: $0.channel, resume: resume.point(for: $0)) }
        if let first = selections.first { node.cluster.subscriberArrived(firstChannel: first.channel) }
        node.metrics.subscribed(mode)

        if mode == .webSocket {
            return upgradeToWebSocket(head: head, headers: headers, selections: selections, channels: subscriptions)
        }
        validate(selections).assumeIsolated().whenComplete { [self] result in
            guard context != nil else { return }  // the client left while we validated
            switch result {
            case .failure(let error):
                respond(head: head, error: Self.protocolError(error), headers: headers)
            case .success:
                switch mode {
                case .polling:
                    poll(request, channels: subscriptions, headers: headers)
                case .longPolling:
                    longPoll(request, channels: subscriptions, headers: headers)
                case .streaming, .eventSource:
                    stream(head: head, mode: mode, channels: subscriptions, headers: headers)
                case .webSocket:
                    break
                }
            }
        }
    }

    /// Every check of reference §4 that a subscription must pass; creates missing channels.
    func validate(_ selections: [ChannelSelection]) -> EventLoopFuture<Void> {
        let settings = node.settings
        let loop = context!.eventLoop
        do {
            try ChannelPath.validate(
                selections, maxChannelIDLength: settings.maxChannelIDLength,
                wildcardPrefix: settings.wildcardChannelPrefix, maxWildcardChannels: settings.wildcardChannelMaxQtd,
                isSubscriber: true)
            if selections.count > settings.maxChannelsPerSubscription { throw ProtocolError.tooManyChannels }
            if let events = settings.eventsChannelID, !settings.allowConnectionsToEventsChannel,
                selections.contains(where: { $0.channel == events })
            {
                throw ProtocolError.eventsChannelSubscriptionNotAllowed
            }
        } catch {
            return loop.makeFailedFuture(error)
        }
        let channels = selections.map(\.channel)
        let engine = node.engine
        let registry = node.registry
        return engine.records(channels, on: loop).hop(to: loop).flatMapThrowing { records in
            for (channel, record) in zip(channels, records) {
                if settings.authorizedChannelsOnly, (record?.storedMessages ?? 0) == 0,
                    !ChannelPath.isWildcard(channel, prefix: settings.wildcardChannelPrefix)
                {
                    throw ProtocolError.subscriberCannotCreateChannels
                }
                if let max = settings.maxSubscribersPerChannel,
                    record?.subscribers ?? registry.subscriberCount(channel) >= max
                {
                    throw ProtocolError.subscribersLimitExceeded
                }
            }
            return zip(channels, records).filter { $0.1 == nil }.map(\.0)
        }.flatMap { missing in
            // Only channels that do not exist yet are created (and counted against the limits).
            missing.isEmpty ? loop.makeSucceededVoidFuture() : engine.create(missing, on: loop).hop(to: loop)
        }
    }

    static func uniqueSelections(_ selections: [ChannelSelection]) -> [ChannelSelection] {
        var seen = Set<String>()
        return selections.filter { seen.insert($0.channel).inserted }
    }

    // MARK: Polling and long-polling

    private func poll(_ request: HTTPRequest, channels: [ChannelSubscription], headers: HTTPHeaders) {
        let loop = context!.eventLoop
        let reads = channels.map { node.engine.backlog($0.channel, on: loop) }
        EventLoopFuture.whenAllSucceed(reads, on: loop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .failure(let error):
                respond(head: request.head, error: Self.protocolError(error), headers: headers)
            case .success(let backlogs):
                var messages: [Message] = []
                var positions: [ChannelPosition] = []
                for (channel, backlog) in zip(channels, backlogs) {
                    let selection = Resume.select(
                        stored: backlog.messages, lastID: backlog.lastID, after: channel.resume)
                    if selection.missed { messages.append(.missed(channel.channel)) }
                    messages += selection.messages
                    positions.append(ChannelPosition(channel: channel.channel, lastID: backlog.lastID))
                }
                let cursor = ResumeCursor(positions)
                if !messages.isEmpty {
                    respondMessages(messages, request: request, headers: headers, cursor: cursor)
                } else {
                    respondNotModified(request: request, headers: headers, cursor: cursor)
                }
            }
        }
    }

    private func longPoll(_ request: HTTPRequest, channels: [ChannelSubscription], headers: HTTPHeaders) {
        let subscriber = LongPollSubscriber(
            handler: self, request: request, headers: headers, loop: context!.eventLoop,
            registry: node.registry, channels: channels)
        startWaiting(subscriber)
        subscriber.deadline = .now() + .milliseconds(node.settings.longpollingConnectionTTL.milliseconds)
        subscriber.start().assumeIsolated().whenFailure { subscriber.fail($0) }
    }

    /// 200 with the messages: header template, messages (JSONP-wrapped with `callback`), footer,
    /// and `Last-Modified`/`Etag` to resume from.
    /// - Parameter position: time and tag to answer with when no message of the answer has an id
    ///   (a timeout or a deletion notice): where the client stands.
    func respondMessages(
        _ messages: [Message], request: HTTPRequest, headers: HTTPHeaders, cursor: ResumeCursor,
        position: (time: Int64, tag: Int64)? = nil
    ) {
        var headers = headers
        let templates = node.settings.templates(for: .longPolling)
        let renderer = node.registry.renderer
        let callback = request.argument("callback").flatMap { $0.isEmpty ? nil : $0 }
        var body = ByteBuffer()
        if let header = templates.header { body.writeString(header) }
        if let callback { body.writeString(callback + "([") }
        for (i, message) in messages.enumerated() {
            if callback != nil && i > 0 { body.writeStaticString(",") }
            body.writeBytes(renderer.templateOutput(message, mode: .longPolling))
        }
        if callback != nil { body.writeStaticString("]);") }
        if let footer = templates.footer { body.writeString(footer) }
        headers.add(
            name: "Content-Type",
            value: callback != nil ? "application/javascript" : "text/plain; charset=utf-8")
        let last: Message = messages.last(where: { $0.id > 0 }) ?? messages[messages.count - 1]
        if last.id > 0 {
            headers.add(name: "Last-Modified", value: HTTPDate.format(last.time))
            headers.add(name: "Etag", value: etag(tag: last.tag, cursor: cursor))
        } else {
            headers.add(name: "Last-Modified", value: HTTPDate.format(position?.time ?? UnixClock.now()))
            headers.add(name: "Etag", value: etag(tag: position?.tag ?? 0, cursor: cursor))
        }
        respond(head: request.head, status: .ok, headers: headers, body: &body)
    }

    /// Nothing new: 304, echoing what the client sent so it can ask again.
    func respondNotModified(request: HTTPRequest, headers: HTTPHeaders, cursor: ResumeCursor) {
        var headers = headers
        let resume = ResumeRequest(
            head: request.head, arguments: request.argument(_:), byArgument: node.settings.messagesControlByArgument)
        if let since = resume.since, since > 0 { headers.add(name: "Last-Modified", value: HTTPDate.format(since)) }
        if cursor.positions.count > 1 {
            headers.add(name: "Etag", value: "W/" + cursor.description)
        } else if let tag = resume.numericTag {
            headers.add(name: "Etag", value: "W/\(tag)")
        }
        respond(head: request.head, status: .notModified, headers: headers)
    }

    /// `W/<tag>` for one channel (push-stream's form); the exact cursor for several.
    func etag(tag: Int64, cursor: ResumeCursor) -> String {
        cursor.positions.count > 1 ? "W/" + cursor.description : "W/\(tag)"
    }

    // MARK: Streaming and EventSource

    private func stream(
        head: HTTPRequestHead, mode: SubscriberMode, channels: [ChannelSubscription], headers: HTTPHeaders
    ) {
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
        headers.add(name: ResponseHeaders.node, value: node.settings.identity)
        let subscriber = StreamSubscriber(
            mode: mode, loop: context!.eventLoop, registry: node.registry, channels: channels, chunked: chunked)
        guard handOver(to: [subscriber]) else { return }
        subscriber.begin(
            responseHead: ResponseHeaders.render(status: .ok, version: head.version, headers: headers),
            connectionTTL: node.settings.subscriberConnectionTTL)
    }

    // MARK: WebSocket

    private func upgradeToWebSocket(
        head: HTTPRequestHead, headers: HTTPHeaders, selections: [ChannelSelection], channels: [ChannelSubscription]
    ) {
        let required = ["Connection", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"]
        guard required.allSatisfy({ head.headers.contains(name: $0) }) else {
            return respond(head: head, error: .webSocketMissingHeaders, headers: headers)
        }
        let version = head.headers.first(name: "Sec-WebSocket-Version")!.trimmingCharacters(in: .whitespaces)
        guard version == "8" || version == "13" else {
            var headers = headers
            headers.add(name: "Sec-WebSocket-Version", value: "8, 13")
            return respond(head: head, error: .webSocketVersionNotSupported, headers: headers)
        }
        let key = head.headers.first(name: "Sec-WebSocket-Key")!.trimmingCharacters(in: .whitespaces)
        var upgradeHeaders = HTTPHeaders()
        upgradeHeaders.add(name: "Upgrade", value: "WebSocket")
        upgradeHeaders.add(name: "Connection", value: "Upgrade")
        upgradeHeaders.add(name: "Sec-WebSocket-Accept", value: Self.webSocketAccept(key: key))
        upgradeHeaders.add(name: ResponseHeaders.node, value: node.settings.identity)
        for (name, value) in headers where name.lowercased().hasPrefix("access-control") {
            upgradeHeaders.add(name: name, value: value)
        }
        let subscriber = WebSocketSubscriber(loop: context!.eventLoop, registry: node.registry, channels: channels)
        let validation = validate(selections)
        guard handOver(to: [subscriber]) else { return }
        subscriber.beginAfterValidation(
            validation,
            responseHead: ResponseHeaders.render(
                status: .switchingProtocols, version: head.version, headers: upgradeHeaders),
            connectionTTL: node.settings.subscriberConnectionTTL)
    }

    /// `Sec-WebSocket-Accept`: base64(SHA-1(key + RFC 6455's GUID)).
    static func webSocketAccept(key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}
