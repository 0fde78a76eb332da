import HeraldCore
import HeraldPublisher
import HeraldRedis
import Logging
import NIOCore

/// The Redis engine's receiving side: one feed per channel this node hosts, turning the pub/sub
/// stream into an in-order, gap-free stream for the sink.
///
/// A feed that sees id N+2 after N reads the backlog and delivers N+1 first; after the pub/sub
/// connection comes back it delivers everything newer than each channel's last delivered id.
/// What the backlog no longer holds is reported to subscribers (the id -4 notice), never skipped
/// quietly. All state lives on the pub/sub connection's event loop.
final class ChannelFeeds: Sendable {
    private struct Feed {
        /// Hosts minus releases: the channel is subscribed while this is positive.
        var hosts = 0
        var lastDelivered: Int64?
        /// The channel's incarnation when last read; a different one means its ids restarted.
        var epoch: Epoch?
        var repairing = false
        var held: [Message] = []
    }

    /// A channel's incarnation. Epochs are microsecond timestamps, 16 digits: one more than a
    /// String holds inline, so one per hosted channel would be a heap allocation. Kept as a number.
    private enum Epoch: Equatable {
        case number(Int64)
        case text(String)

        init?(_ text: String?) {
            guard let text else { return nil }
            if let number = Int64(text), String(number) == text {
                self = .number(number)
            } else {
                self = .text(text)
            }
        }
    }

    let loop: any EventLoop
    private let state: NIOLoopBoundBox<[String: Feed]>
    private let publisher: HeraldPublisher
    private let keys: RedisKeys
    private let sink: @Sendable () -> (any MessageSink)?
    private let logger: Logger

    init(
        loop: any EventLoop, publisher: HeraldPublisher, logger: Logger,
        sink: @escaping @Sendable () -> (any MessageSink)?
    ) {
        self.loop = loop
        self.state = NIOLoopBoundBox.makeBoxSendingValue([:], eventLoop: loop)
        self.publisher = publisher
        self.keys = publisher.settings.keys
        self.sink = sink
        self.logger = logger
    }

    /// Counts a host (+1) or release (-1); returns whether the channel is wanted now. On the loop.
    func count(_ channel: String, by delta: Int) -> Bool {
        state.withValue { feeds in
            var feed = feeds[channel] ?? Feed()
            feed.hosts += delta
            if feed.hosts == 0 && !feed.repairing {
                feeds[channel] = nil
                return false
            }
            feeds[channel] = feed
            return feed.hosts > 0
        }
    }

    /// Sets where a newly hosted channel stands, so a message lost before its first live one is
    /// still noticed and repaired. On the loop.
    func seed(_ channel: String, lastID: Int64?, epoch: String?) {
        state.withValue { feeds in
            guard var feed = feeds[channel] else { return }
            if feed.lastDelivered == nil { feed.lastDelivered = lastID ?? 0 }
            if feed.epoch == nil { feed.epoch = Epoch(epoch) }
            feeds[channel] = feed
        }
    }

    /// Hosted channels that have had no message yet (as far as this node has seen). On the loop.
    func channelsWithoutMessages() -> [String] {
        state.withValue { feeds in
            feeds.compactMap { name, feed in feed.hosts > 0 && (feed.lastDelivered ?? 0) == 0 ? name : nil }
        }
    }

    // MARK: Receiving

    /// A pub/sub message. On the loop, in Redis's order.
    func received(pubsubChannel: String, payload: ByteBuffer) {
        guard let channel = keys.channel(fromPubsub: pubsubChannel),
            let message = Envelope.decode(payload.readableBytesView)
        else {
            logger.debug("ignoring a foreign pub/sub message", metadata: ["redis.channel": "\(pubsubChannel)"])
            return
        }
        accept(message, channel: channel)
    }

    private func accept(_ message: Message, channel: String) {
        let action: Action = state.withValue { feeds in
            guard var feed = feeds[channel], feed.hosts > 0 else { return .drop }
            defer { feeds[channel] = feed }
            if message.id == Message.channelDeletedID {
                feed.lastDelivered = nil  // ids restart when the channel is re-created
                feed.epoch = nil
                return .deleted
            }
            if feed.repairing {
                feed.held.append(message)
                return .drop
            }
            if let last = feed.lastDelivered {
                if message.id <= last { return .drop }
                if message.id > last + 1 {
                    feed.repairing = true
                    feed.held = [message]
                    return .repair(after: last)
                }
            }
            feed.lastDelivered = message.id
            return .deliver
        }
        switch action {
        case .drop: break
        case .deliver: sink()?.deliver(message)
        case .deleted: sink()?.channelDeleted(channel, notice: message)
        case .repair(let last): repair(channel, after: last)
        }
    }

    private enum Action {
        case drop
        case deliver
        case deleted
        case repair(after: Int64)
    }

    // MARK: Repairing

    /// After a reconnect: every hosted channel catches up from the backlog.
    func repairAll() {
        let channels: [(String, Int64)] = state.withValue { feeds in
            feeds.compactMap { name, feed in
                guard feed.hosts > 0, !feed.repairing, let last = feed.lastDelivered else { return nil }
                feeds[name]!.repairing = true
                return (name, last)
            }
        }
        for (channel, last) in channels { repair(channel, after: last) }
    }

    /// Delivers what the backlog has after `last`, then the messages held meanwhile. A failed
    /// read is tried again (Redis may still be coming back) for as long as the channel is hosted.
    private func repair(_ channel: String, after last: Int64, attempt: Int = 0) {
        let knownEpoch = state.withValue { $0[channel]?.epoch }
        publisher.backlog(channel).hop(to: loop).whenComplete { [self] result in
            var stored: [Message] = []
            var base = last
            var epoch = knownEpoch
            switch result {
            case .success(let backlog):
                stored = backlog.messages
                epoch = Epoch(backlog.epoch)
                // Another incarnation, or fewer ids than already delivered: Redis lost the channel (a
                // restart without persistence) or it was re-created. Its ids start again; so do the
                // subscribers'.
                let reincarnated = knownEpoch != nil && epoch != nil && knownEpoch != epoch
                if backlog.lastID < last || reincarnated { base = 0 }
            case .failure(let error):
                let hosted = state.withValue { $0[channel].map { $0.hosts > 0 } ?? false }
                if hosted {
                    let delay = TimeAmount.milliseconds(min(2_000, 50 << min(attempt, 6)))
                    if attempt == 0 {
                        logger.info(
                            "backlog read for repair failed; retrying",
                            metadata: ["channel": "\(channel)", "redis.error": "\(error)"])
                    }
                    loop.scheduleTask(in: delay) { self.repair(channel, after: last, attempt: attempt + 1) }
                    return
                }
            }
            let held: [Message]? = state.withValue { feeds in
                guard var feed = feeds[channel] else { return nil }
                feed.repairing = false
                let held = feed.held
                feed.held = []
                feeds[channel] = feed.hosts > 0 ? feed : nil
                return feed.hosts > 0 ? held : nil
            }
            guard let held, let sink = sink() else { return }
            if base != last {
                sink.deliver(.missed(channel))
                sink.channelReset(channel)
            }
            // Stored then held, each id once, in order. Anything between `base` and the first of
            // them is gone from the backlog: say so rather than skip it.
            var delivered = base
            for message in stored + held where message.id > delivered {
                if delivered == base && message.id > base + 1 && base == last { sink.deliver(.missed(channel)) }
                sink.deliver(message)
                delivered = message.id
            }
            state.withValue { feeds in
                if feeds[channel] != nil {
                    feeds[channel]!.lastDelivered = delivered
                    feeds[channel]!.epoch = epoch
                }
            }
        }
    }
}
