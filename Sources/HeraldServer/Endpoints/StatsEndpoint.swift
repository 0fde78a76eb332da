import HeraldCore
import HeraldPublisher
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `/channels-stats`: the summary, one channel, a list, `ALL` or a `prefix*`.
struct StatsEndpoint: Endpoint {
    let node: NodeContext

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        let head = request.head
        let headers = Self.headers
        guard head.method == .GET else { return .answer(.methodNotAllowed(allow: "GET", headers: headers)) }
        let answers = ChannelInfoAnswer(
            node: node, format: StatsFormat(accept: head.headers.first(name: "accept")), headers: headers,
            notFoundWhenNone: true)
        let id = request.argument("id") ?? ""

        if id.isEmpty {
            return .answer(
                node.engine.totals(on: loop).hop(to: loop).map { totals in
                    answers.text(StatsRenderer.summary(summary(totals), as: answers.format))
                }.recover { HTTPAnswer(failure: $0, headers: headers) })
        }
        if id == "ALL" || id.contains("*") {
            let prefix = id == "ALL" ? "" : String(id[..<id.firstIndex(of: "*")!])
            return .answer(
                node.engine.records(prefix: prefix, on: loop).and(node.engine.totals(on: loop)).hop(to: loop).map {
                    records, totals in
                    answers.text(
                        StatsRenderer.group(
                            answers.group(records.map(answers.info(for:)), totals: totals), as: answers.format))
                }.recover { HTTPAnswer(failure: $0, headers: headers) })
        }
        do {
            let selections = try ChannelPath.parseValidated(
                rawPercentEncoded: request.rawArgument("id") ?? "",
                limits: node.settings.channelLimits(subscriber: false))
            return .answer(answers.read(selections.map(\.channel), on: loop))
        } catch {
            return .answer(HTTPAnswer(error: error, headers: headers))
        }
    }

    private static let headers: HTTPHeaders = {
        var headers = HTTPHeaders()
        headers.add(name: "X-Nginx-PushStream-Tag", value: HeraldVersion.string)
        headers.add(name: "X-Nginx-PushStream-Commit", value: HeraldVersion.commit)
        ResponseHeaders.addNoCache(to: &headers)
        return headers
    }()

    private func summary(_ totals: EngineTotals) -> StatsSummary {
        let subscribers = node.registry.connectionCount
        return StatsSummary(
            hostname: node.hostname, time: UnixClock.now(), channels: totals.channels,
            wildcardChannels: totals.wildcardChannels, publishedMessages: totals.publishedMessages,
            storedMessages: totals.storedMessages, messagesInTrash: 0, channelsInDelete: 0, channelsInTrash: 0,
            subscribers: subscribers, uptime: node.uptime,
            workers: [WorkerStats(pid: getpid(), subscribers: subscribers, uptime: node.uptime)])
    }
}

/// Herald's version, reported where push-stream reports its own.
public enum HeraldVersion {
    public static let string = "0.1.0"
    public static let commit = "herald"
}
