import HeraldCore
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension HTTPConnectionHandler {
    /// `/channels-stats`: the summary, one channel, a list, `ALL` or a `prefix*`.
    func handleStats(_ request: HTTPRequest) {
        let head = request.head
        var headers = HTTPHeaders()
        headers.add(name: "X-Nginx-PushStream-Tag", value: HeraldVersion.string)
        headers.add(name: "X-Nginx-PushStream-Commit", value: HeraldVersion.commit)
        ResponseHeaders.addNoCache(to: &headers)
        guard head.method == .GET else {
            headers.add(name: "Allow", value: "GET")
            return respond(head: head, error: .methodNotAllowed, headers: headers)
        }
        let format = StatsFormat(accept: head.headers.first(name: "accept"))
        let loop = context!.eventLoop
        let id = request.argument("id") ?? ""

        if id.isEmpty {
            return node.engine.totals(on: loop).hop(to: loop).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let totals):
                    respond(
                        text: StatsRenderer.summary(summary(totals), as: format), format: format, head: head,
                        headers: headers)
                case .failure(let error):
                    respond(head: head, error: Self.protocolError(error), headers: headers)
                }
            }
        }
        if id == "ALL" || id.contains("*") {
            let prefix = id == "ALL" ? "" : String(id[..<id.firstIndex(of: "*")!])
            return node.engine.records(prefix: prefix, on: loop).and(node.engine.totals(on: loop)).hop(to: loop)
                .assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success(let (records, totals)):
                        let infos = records.map(info(for:))
                        respond(
                            text: StatsRenderer.group(group(infos, totals: totals), as: format), format: format,
                            head: head, headers: headers)
                    case .failure(let error):
                        respond(head: head, error: Self.protocolError(error), headers: headers)
                    }
                }
        }
        let selections = ChannelPath.parse(id)
        if let max = node.settings.maxChannelIDLength, selections.contains(where: { $0.channel.utf8.count > max }) {
            return respond(head: head, error: .channelIDTooLarge, headers: headers)
        }
        respondWithInfo(
            Self.unique(selections.map(\.channel)), format: format, head: head, headers: headers,
            notFoundWhenNone: true, exchange: nil)
    }

    private func summary(_ totals: EngineTotals) -> StatsSummary {
        let subscribers = node.registry.connectionCount
        return StatsSummary(
            hostname: node.hostname, time: UnixClock.now(), channels: totals.channels,
            wildcardChannels: totals.wildcardChannels, publishedMessages: totals.publishedMessages,
            storedMessages: totals.storedMessages, messagesInTrash: 0, channelsInDelete: 0, channelsInTrash: 0,
            subscribers: subscribers, uptime: node.uptime,
            workers: [WorkerStats(pid: ProcessID.current, subscribers: subscribers, uptime: node.uptime)])
    }
}

/// Herald's version, reported where push-stream reports its own.
public enum HeraldVersion {
    public static let string = "0.1.0"
    public static let commit = "herald"
}

enum ProcessID {
    static var current: Int32 { getpid() }
}
