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
        let infos = records.compactMap { $0 }.map(info(for:))
        if infos.isEmpty && notFoundWhenNone {
            return loop.makeSucceededFuture(HTTPAnswer(error: .notFound, headers: headers))
        }
        // Server-wide totals only for the group form: one publish to one channel must not pay for them.
        guard infos.count > 1 else {
            let single = infos.first.map { StatsRenderer.single($0, as: format) } ?? ""
            return loop.makeSucceededFuture(text(single))
        }
        return node.engine.totals(on: loop).hop(to: loop).map { totals in
            text(StatsRenderer.group(group(infos, totals: totals), as: format))
        }
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
