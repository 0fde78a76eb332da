import HeraldCore
import HeraldPublisher
import HeraldRedis
import Logging
import Metrics
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
        /// The time and tag of `lastDelivered`, once a message told them: a later message under an id
        /// up to it means Redis lost messages and handed their ids out again.
        var lastStamp: StreamPoint.Stamp?
        /// The generation of `lastDelivered` (0: not known yet); another one means ids restarted.
        var generation: Int64 = 0
        var repairing = false
        var held: [Message] = []

        /// Whether `message` has an id already delivered but was published after the last one
        /// delivered: another message under a reused id, not a repeat.
        func reuses(_ message: Message) -> Bool {
            guard let delivered, message.id <= delivered.id, message.generation == generation else { return false }
            return delivered.precedes(time: message.time, tag: message.tag)
        }

        /// Where this feed's subscribers stand, when its time and tag are known.
        var delivered: StreamPoint? {
            guard let id = lastDelivered, let stamp = lastStamp, generation != 0 else { return nil }
            return StreamPoint(id: id, generation: generation, time: stamp.time, tag: stamp.tag)
        }
    }

    let loop: any EventLoop
    private let state: NIOLoopBoundBox<[String: Feed]>
    private let publisher: HeraldPublisher
    private let keys: RedisKeys
    private let sink: @Sendable () -> (any MessageSink)?
    private let logger: Logger
    /// Repairs from the backlog: a feed that skipped ids, and every hosted channel after a reconnect.
    private let gapRepairs = Counter(label: "herald_gap_repairs_total", dimensions: [("cause", "gap")])
    private let reconnectRepairs = Counter(label: "herald_gap_repairs_total", dimensions: [("cause", "reconnect")])
    /// Backlogs found short of what this node delivered (Redis lost acknowledged messages).
    private let lossFences = Counter(label: "herald_loss_fences_total")

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
    func seed(_ channel: String, at last: StreamPoint) {
        state.withValue { feeds in
            guard var feed = feeds[channel] else { return }
            if feed.lastDelivered == nil { feed.lastDelivered = last.id }
            if feed.generation == 0 { feed.generation = last.generation }
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
            let message = payload.withUnsafeReadableBytes({ Envelope.decode($0) })
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
                feed.lastStamp = nil
                feed.generation = 0
                return .deleted
            }
            if feed.repairing {
                feed.held.append(message)
                return .drop
            }
            if let last = feed.lastDelivered {
                let otherGeneration =
                    message.generation != 0 && feed.generation != 0 && message.generation != feed.generation
                if otherGeneration || message.id > last + 1 || feed.reuses(message) {
                    feed.repairing = true
                    feed.held = [message]
                    return .repair(after: last)
                }
                if message.id <= last { return .drop }
            }
            feed.lastDelivered = message.id
            if message.generation != 0 {
                feed.generation = message.generation
                feed.lastStamp = (message.time, message.tag)
            }
            return .deliver
        }
        switch action {
        case .drop: break
        case .deliver: sink()?.deliver(message)
        case .deleted: sink()?.channelDeleted(channel, notice: message)
        case .repair(let last):
            gapRepairs.increment()
            repair(channel, after: last)
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
        reconnectRepairs.increment(by: channels.count)
        for (channel, last) in channels { repair(channel, after: last) }
    }

    /// Delivers what the backlog has after `last`, then the messages held meanwhile; what the
    /// backlog no longer holds (trimmed, or gone with another generation) gets the gap notice,
    /// decided by the same rule as a subscriber's resume. A failed read is tried again (Redis may
    /// still be coming back) for as long as the channel is hosted.
    ///
    /// A backlog that no longer reaches what was delivered (Redis lost messages it had
    /// acknowledged: a failover before they were replicated) is fenced first, once, and read
    /// again: the lost ids are not handed out again, and those who had not seen them are told.
    private func repair(_ channel: String, after last: Int64, attempt: Int = 0, fenced: Bool = false) {
        let (known, delivered) = state.withValue { ($0[channel]?.generation ?? 0, $0[channel]?.delivered) }
        publisher.backlog(channel).hop(to: loop).whenComplete { [self] result in
            let backlog: ChannelBacklog
            switch result {
            case .success(let read):
                backlog = read
            case .failure(let error):
                if state.withValue({ $0[channel].map { $0.hosts > 0 } ?? false }) {
                    let delay = TimeAmount.milliseconds(min(2_000, 50 << min(attempt, 6)))
                    if attempt == 0 {
                        logger.info(
                            "backlog read for repair failed; retrying",
                            metadata: ["channel": "\(channel)", "redis.error": "\(error)"])
                    }
                    loop.scheduleTask(in: delay) { self.repair(channel, after: last, attempt: attempt + 1) }
                    return
                }
                _ = finishRepair(channel)
                return
            }
            if !fenced, let delivered, delivered.id == last, backlog.needsFence(after: delivered) {
                fence(channel, delivered: delivered, backlog: backlog, attempt: attempt)
                return
            }
            guard let held = finishRepair(channel), let sink = sink() else { return }
            // Ids subscribers saw name other messages now: they continue by time and tag, after
            // the notice, and their ids go back to the new messages'.
            let reusedAfter = delivered.flatMap { $0.id == last && backlog.reusesIDs(upTo: $0) ? $0 : nil }
            let selection = Resume.select(
                backlog,
                after: reusedAfter.map { .since(time: $0.time, tag: $0.tag) } ?? .afterID(last, generation: known))
            // Stored then held, each id once, in order; one notice before the first of them if
            // anything between where subscribers stand and it is gone.
            var point = selection.start
            var reported = selection.missed || reusedAfter != nil
            var stamp: StreamPoint.Stamp?
            if let reusedAfter {
                // Before the new messages by id, at what was delivered by time and tag.
                point = StreamPoint(
                    id: point.id, generation: reusedAfter.generation, time: reusedAfter.time, tag: reusedAfter.tag)
            }
            if reported { sink.deliverGap(channel, resumeAt: point, idsReused: reusedAfter != nil) }
            for message in Array(selection.messages) + held where message.id > point.id {
                if !reported && message.id > point.id + 1 {
                    // Gone from between stored messages (published without storing): subscribers
                    // stand right before this one; its time and tag are not known, the last one's
                    // lead to it without repeating anything.
                    var before = point
                    before.id = message.id - 1
                    sink.deliverGap(channel, resumeAt: before)
                    reported = true
                }
                sink.deliver(message)
                point = message.point
                stamp = message.generation != 0 ? (message.time, message.tag) : nil
            }
            state.withValue { feeds in
                guard feeds[channel] != nil else { return }
                let generation = point.generation != 0 ? point.generation : backlog.generation
                if generation != feeds[channel]!.generation || reported { feeds[channel]!.lastStamp = nil }
                if let stamp { feeds[channel]!.lastStamp = stamp }
                feeds[channel]!.lastDelivered = point.id
                feeds[channel]!.generation = generation
            }
        }
    }

    /// Fences what Redis lost after `delivered` (``HeraldPublisher/fence(_:delivered:)``), then
    /// repairs again from a fresh read. A failed fence is not retried: the repair goes on and
    /// reports the gap without it.
    private func fence(_ channel: String, delivered: StreamPoint, backlog: ChannelBacklog, attempt: Int) {
        lossFences.increment()
        logger.warning(
            "Redis lost delivered messages; fencing their ids",
            metadata: [
                "channel": "\(channel)", "delivered": "\(delivered)", "redis.last": "\(backlog.last)",
            ])
        publisher.fence(channel, delivered: delivered).hop(to: loop).whenComplete { [self] result in
            if case .failure(let error) = result {
                logger.warning("fence failed", metadata: ["channel": "\(channel)", "redis.error": "\(error)"])
            }
            repair(channel, after: delivered.id, attempt: attempt, fenced: true)
        }
    }

    /// Ends a repair: the messages held meanwhile, or nil if the channel is no longer hosted.
    private func finishRepair(_ channel: String) -> [Message]? {
        state.withValue { feeds in
            guard var feed = feeds[channel] else { return nil }
            feed.repairing = false
            let held = feed.held
            feed.held = []
            feeds[channel] = feed.hosts > 0 ? feed : nil
            return feed.hosts > 0 ? held : nil
        }
    }
}
