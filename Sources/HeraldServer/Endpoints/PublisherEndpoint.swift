import HeraldCore
import NIOCore
import NIOHTTP1

/// `/pub?id=<channels>`: channel info (GET), publish (POST/PUT), delete (DELETE, admin only).
struct PublisherEndpoint: Endpoint {
    let node: NodeContext
    /// The admin listener's publisher, which may also delete.
    let admin: Bool

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        let head = request.head
        // Read through `node`, not copied out: a copy of the settings retains each of their
        // strings and lists, on every request.
        let allowed = admin ? "GET, POST, PUT, DELETE" : "GET, POST, PUT"
        var headers = HTTPHeaders()
        ResponseHeaders.addCORS(
            policy: node.settings.originPolicy, origin: head.headers.first(name: "Origin"), methods: allowed,
            to: &headers)
        if head.method == .OPTIONS { return .answer(HTTPAnswer(status: .ok, headers: headers)) }
        ResponseHeaders.addNoCache(to: &headers)
        switch head.method {
        case .GET, .POST, .PUT: break
        case .DELETE where admin: break
        default: return .answer(.methodNotAllowed(allow: allowed, headers: headers))
        }
        let channels: [String]
        do {
            channels = try ChannelPath.parseValidated(
                rawPercentEncoded: request.rawArgument("id") ?? "",
                limits: node.settings.channelLimits(subscriber: false)
            ).map(\.channel)
            if head.method != .GET, let events = node.settings.eventsChannelID, channels.contains(events) {
                throw ProtocolError.eventsChannelReadOnly
            }
        } catch {
            return .answer(HTTPAnswer(failure: error, headers: headers))
        }
        let info = ChannelInfoAnswer(
            node: node, format: StatsFormat(accept: head.headers.first(name: "accept")), headers: headers,
            notFoundWhenNone: head.method == .GET)

        switch head.method {
        case .GET:
            return .answer(info.read(channels, on: loop))
        case .DELETE:
            let headers = headers
            let body = request.bodyBytes
            let notice = body.isEmpty ? Array(node.settings.channelDeletedMessageText.utf8) : body
            return .answer(
                node.engine.delete(channels, notice: notice, on: loop).hop(to: loop).map { deleted in
                    HTTPAnswer(error: deleted.isEmpty ? .notFound : .channelDeleted, headers: headers)
                }.recover { HTTPAnswer(failure: $0, headers: headers) })
        default:
            return publish(request, channels: channels, info: info, on: loop)
        }
    }

    private func publish(
        _ request: HTTPRequest, channels: [String], info: ChannelInfoAnswer, on loop: any EventLoop
    ) -> EndpointResult {
        let text = request.bodyBytes
        guard !text.isEmpty else { return .answer(HTTPAnswer(error: .emptyPost, headers: info.headers)) }
        let key = request.head.headers.first(name: "Idempotency-Key")
        let idempotencyKey = key.flatMap(IdempotencyKey.validated)
        if key != nil && idempotencyKey == nil {
            return .answer(HTTPAnswer(error: .invalidIdempotencyKey, headers: info.headers))
        }
        let channelInfo = node.settings.channelInfoOnPublish
        let publish = PublishRequest(
            channels: channels, text: text,
            eventID: request.head.headers.first(name: "Event-Id"),
            eventType: request.head.headers.first(name: "Event-Type"),
            store: node.settings.storeMessages, channelInfo: channelInfo, idempotencyKey: idempotencyKey)
        let metrics = node.metrics
        let headers = info.headers
        // One promise for the answer instead of a chain of futures: this runs for every publish.
        let answer = loop.makePromise(of: HTTPAnswer.self)
        node.engine.publish(publish, on: loop).hop(to: loop).whenComplete { result in
            switch result {
            case .success(let publications):
                // Counted on the publish alone: a failed channel-info read after it does not undo it.
                metrics.publishes.increment()
                guard channelInfo else { return answer.succeed(HTTPAnswer(status: .ok, headers: headers)) }
                // The engine read each channel's record with the publish: no second round trip.
                let records = publications.map(\.record)
                if records.contains(where: { $0 == nil }) { return answer.completeWith(info.read(channels, on: loop)) }
                if let single = info.immediateAnswer(records: records) { return answer.succeed(single) }
                answer.completeWith(
                    info.answer(records: records, on: loop).recover { HTTPAnswer(failure: $0, headers: headers) })
            case .failure(let error):
                // A refusal (a full channel table: 403) is not an error of the engine.
                if let error = error as? ProtocolError, (400..<500).contains(error.status) {
                    metrics.refusedPublishes.increment()
                } else {
                    metrics.failedPublishes.increment()
                }
                answer.succeed(HTTPAnswer(failure: error, headers: headers))
            }
        }
        return .answer(answer.futureResult)
    }
}
