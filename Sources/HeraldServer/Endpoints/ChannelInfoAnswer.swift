import HeraldCore
import HeraldPublisher
import NIOCore
import NIOHTTP1

/// Channel info in push-stream's formats, shared by the publisher (`GET /pub`, a publish's answer)
/// and `/channels-stats`: one channel in single form, several in group form.
struct ChannelInfoAnswer {
    let node: NodeContext
    let format: StatsFormat
    let headers: HTTPHeaders
    /// Answer 404 when none of the channels exists (a GET); a publish answers 200 regardless.
    let notFoundWhenNone: Bool

    /// Reads the channels' records, then answers from them.
    func read(_ channels: [String], on loop: any EventLoop) -> EventLoopFuture<HTTPAnswer> {
        node.engine.records(channels, on: loop).hop(to: loop).flatMap { records in
            answer(records: records, on: loop)
        }.flatMapErrorThrowing { error in HTTPAnswer(failure: error, headers: headers) }
    }

    /// Answers from records already read (`nil`: the channel does not exist).
    func answer(records: [ChannelRecord?], on loop: any EventLoop) -> EventLoopFuture<HTTPAnswer> {
        if let answer = immediateAnswer(records: records) { return loop.makeSucceededFuture(answer) }
        let infos = records.compactMap { $0 }.map(info(for:))
        return node.engine.totals(on: loop).hop(to: loop).map { totals in
            text(StatsRenderer.group(group(infos, totals: totals), as: format))
        }
    }

    /// The answer when it needs nothing more read: none found, or one channel (server-wide totals
    /// are only for the group form, so one publish to one channel does not pay for them); `nil`
    /// when the totals must be read first.
    func immediateAnswer(records: [ChannelRecord?]) -> HTTPAnswer? {
        let found = records.compactMap { $0 }
        if found.isEmpty && notFoundWhenNone { return HTTPAnswer(error: .notFound, headers: headers) }
        guard found.count <= 1 else { return nil }
        return text(found.first.map { StatsRenderer.single(info(for: $0), as: format) } ?? "")
    }

    func text(_ text: String) -> HTTPAnswer {
        HTTPAnswer(text: text, contentType: format.contentType, headers: headers)
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
}
