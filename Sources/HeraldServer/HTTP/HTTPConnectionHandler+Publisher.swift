import HeraldCore
import NIOCore
import NIOHTTP1

extension HTTPConnectionHandler {
    /// `/pub?id=<channels>`: channel info (GET), publish (POST/PUT), delete (DELETE, admin only).
    func handlePublisher(_ request: HTTPRequest, admin: Bool) {
        let head = request.head
        // Publishes answer out of turn: each answer names its request.
        let exchange = current
        let settings = node.settings
        let allowed = admin ? "GET, POST, PUT, DELETE" : "GET, POST, PUT"
        var headers = HTTPHeaders()
        ResponseHeaders.addCORS(origin: settings.allowedOrigins, methods: allowed, to: &headers)
        if head.method == .OPTIONS { return respond(head: head, status: .ok, headers: headers, to: exchange) }
        ResponseHeaders.addNoCache(to: &headers)

        switch head.method {
        case .GET, .POST, .PUT: break
        case .DELETE where admin: break
        default:
            headers.add(name: "Allow", value: allowed)
            return respond(head: head, error: .methodNotAllowed, headers: headers, to: exchange)
        }
        let selections = ChannelPath.parse(request.argument("id") ?? "")
        do {
            try ChannelPath.validate(
                selections, maxChannelIDLength: settings.maxChannelIDLength, wildcardPrefix: nil,
                maxWildcardChannels: nil, isSubscriber: false)
            if head.method != .GET, let events = settings.eventsChannelID,
                selections.contains(where: { $0.channel == events })
            {
                throw ProtocolError.eventsChannelReadOnly
            }
        } catch {
            return respond(head: head, error: Self.protocolError(error), headers: headers, to: exchange)
        }
        let channels = Self.unique(selections.map(\.channel))
        let format = StatsFormat(accept: head.headers.first(name: "accept"))

        switch head.method {
        case .GET:
            respondWithInfo(
                channels, format: format, head: head, headers: headers, notFoundWhenNone: true, exchange: exchange)
        case .DELETE:
            let body = request.bodyBytes
            let notice = body.isEmpty ? Array(settings.channelDeletedMessageText.utf8) : body
            node.engine.delete(channels, notice: notice, on: context!.eventLoop).hop(to: context!.eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success(let deleted) where !deleted.isEmpty:
                        respond(head: head, error: .channelDeleted, headers: headers, to: exchange)
                    case .success:
                        respond(head: head, error: .notFound, headers: headers, to: exchange)
                    case .failure(let error):
                        respond(head: head, error: Self.protocolError(error), headers: headers, to: exchange)
                    }
                }
        default:
            let text = request.bodyBytes
            guard !text.isEmpty else { return respond(head: head, error: .emptyPost, headers: headers, to: exchange) }
            let publish = PublishRequest(
                channels: channels, text: text,
                eventID: head.headers.first(name: "Event-Id"),
                eventType: head.headers.first(name: "Event-Type"),
                store: settings.storeMessages, channelInfo: settings.channelInfoOnPublish)
            node.engine.publish(publish, on: context!.eventLoop).hop(to: context!.eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success: node.metrics.publishes.increment()
                    case .failure: node.metrics.failedPublishes.increment()
                    }
                    guard context != nil else { return }  // the publisher left; the message is published
                    switch result {
                    case .success(let publications):
                        guard settings.channelInfoOnPublish else {
                            return respond(head: head, status: .ok, headers: headers, to: exchange)
                        }
                        // The engine read each channel's record with the publish: no second round trip.
                        let records = publications.map(\.record)
                        if records.contains(where: { $0 == nil }) {
                            respondWithInfo(
                                channels, format: format, head: head, headers: headers, notFoundWhenNone: false,
                                exchange: exchange)
                        } else {
                            respondWithInfo(
                                records: records, format: format, head: head, headers: headers, notFoundWhenNone: false,
                                exchange: exchange)
                        }
                    case .failure(let error):
                        respond(head: head, error: Self.protocolError(error), headers: headers, to: exchange)
                    }
                }
        }
    }

    /// Channel info in push-stream's formats: one channel in single form, several in group form.
    func respondWithInfo(
        _ channels: [String], format: StatsFormat, head: HTTPRequestHead, headers: HTTPHeaders,
        notFoundWhenNone: Bool, exchange: Int?
    ) {
        node.engine.records(channels, on: context!.eventLoop).hop(to: context!.eventLoop)
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let records):
                    respondWithInfo(
                        records: records, format: format, head: head, headers: headers,
                        notFoundWhenNone: notFoundWhenNone, exchange: exchange)
                case .failure(let error):
                    respond(head: head, error: Self.protocolError(error), headers: headers, to: exchange)
                }
            }
    }

    /// Channel info from records already read (`nil`: the channel does not exist).
    func respondWithInfo(
        records: [ChannelRecord?], format: StatsFormat, head: HTTPRequestHead, headers: HTTPHeaders,
        notFoundWhenNone: Bool, exchange: Int?
    ) {
        let infos = records.compactMap { $0 }.map(info(for:))
        if infos.isEmpty && notFoundWhenNone {
            return respond(head: head, error: .notFound, headers: headers, to: exchange)
        }
        // Server-wide totals only for the group form: with Redis they cost a walk over every
        // channel, which one publish to one channel must not pay (nor wait for).
        guard infos.count > 1 else {
            let text = infos.first.map { StatsRenderer.single($0, as: format) } ?? ""
            return respond(text: text, format: format, head: head, headers: headers, to: exchange)
        }
        let loop = context!.eventLoop
        node.engine.totals(on: loop).hop(to: loop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let totals):
                let text = StatsRenderer.group(group(infos, totals: totals), as: format)
                respond(text: text, format: format, head: head, headers: headers, to: exchange)
            case .failure(let error):
                respond(head: head, error: Self.protocolError(error), headers: headers, to: exchange)
            }
        }
    }

    func info(for record: ChannelRecord) -> ChannelInfo {
        ChannelInfo(
            channel: record.channel, publishedMessages: record.lastID, storedMessages: record.storedMessages,
            subscribers: record.subscribers ?? node.registry.subscriberCount(record.channel))
    }

    func group(_ infos: [ChannelInfo], totals: EngineTotals) -> StatsGroup {
        StatsGroup(
            hostname: node.hostname, time: UnixClock.now(), channels: totals.channels,
            wildcardChannels: totals.wildcardChannels, uptime: node.uptime, infos: infos)
    }

    func respond(
        text: String, format: StatsFormat, head: HTTPRequestHead, headers: HTTPHeaders, to exchange: Int? = nil
    ) {
        var headers = headers
        headers.add(name: "Content-Type", value: format.contentType)
        var body = ByteBuffer(string: text)
        respond(head: head, status: .ok, headers: headers, body: &body, to: exchange)
    }

    static func protocolError(_ error: any Error) -> ProtocolError {
        (error as? ProtocolError) ?? .engineUnavailable
    }

    /// Channels in request order, each once (`id=a/a` addresses `a` once).
    static func unique(_ channels: [String]) -> [String] {
        var seen = Set<String>()
        return channels.filter { seen.insert($0).inserted }
    }
}
