import HeraldCore
import NIOConcurrencyHelpers
import NIOCore

/// Which event loops host subscribers of one channel, and which transports they use.
///
/// Kept inline, without arrays: the node holds one per hosted channel, which with private channels
/// is one per idle subscriber.
struct ChannelHosting: Sendable {
    /// The loops (by shard index) with at least one subscriber of the channel.
    var loops = LoopSet()
    /// Subscriber count per transport kind (bit index of ``FrameKinds``).
    var perKind = SIMD4<UInt32>()
    /// Completes when the engine delivers the channel's messages: every joiner waits for it, not
    /// only the first (a second subscriber must not read the backlog before the channel is live).
    /// Dropped once it succeeds: a joiner finding none joins a live channel.
    var live: EventLoopFuture<Void>?

    var total: Int { Int(perKind.wrappedSum()) }

    var kinds: FrameKinds {
        var kinds = FrameKinds()
        for bit in 0..<perKind.scalarCount where perKind[bit] > 0 { kinds.insert(FrameKinds(rawValue: 1 << bit)) }
        return kinds
    }
}

/// A set of event-loop indexes: one word inline, more words only past 64 loops.
struct LoopSet: Sendable {
    private var first: UInt64 = 0
    private var rest: [UInt64] = []

    mutating func insert(_ index: Int) {
        guard index >= 64 else { return first |= 1 << UInt64(index) }
        let word = index / 64 - 1
        if rest.count <= word { rest += Array(repeating: 0, count: word + 1 - rest.count) }
        rest[word] |= 1 << UInt64(index % 64)
    }

    mutating func remove(_ index: Int) {
        guard index >= 64 else { return first &= ~(1 << UInt64(index)) }
        let word = index / 64 - 1
        if word < rest.count { rest[word] &= ~(1 << UInt64(index % 64)) }
    }

    /// Calls `body` with each index in the set, in increasing order.
    func forEach(_ body: (Int) -> Void) {
        Self.forEachBit(of: first, base: 0, body)
        for (offset, word) in rest.enumerated() { Self.forEachBit(of: word, base: 64 * (offset + 1), body) }
    }

    private static func forEachBit(of word: UInt64, base: Int, _ body: (Int) -> Void) {
        var bits = word
        while bits != 0 {
            body(base + bits.trailingZeroBitCount)
            bits &= bits - 1
        }
    }
}

/// The node's subscribers, sharded by event loop.
///
/// A message is rendered once per transport present on its channel, then handed to each event
/// loop that hosts a subscriber of it, once; the loop writes the same buffers to all of its
/// subscribers. The only lock guards the small channel → loops index and is never held while
/// rendering or writing.
public final class SubscriberRegistry: MessageSink, Sendable {
    private let loops: [any EventLoop]
    private let loopIndex: [ObjectIdentifier: Int]
    private let shards: [NIOLoopBound<LoopShard>]
    private let hosting = NIOLockedValueBox<[String: ChannelHosting]>([:])
    /// Subscriber connections by transport (a connection to three channels counts once).
    private let connections = NIOLockedValueBox([SubscriberMode: Int]())
    /// Who is online here: only subscribers with a user (a grant's `sub`, the cookie check's user).
    private let presence: NIOLockedValueBox<PresenceCounts>
    let renderer: FrameRenderer
    let engine: any MessageEngine
    let metrics: NodeMetrics

    init(
        group: any EventLoopGroup, engine: any MessageEngine, settings: NodeSettings,
        metrics: NodeMetrics = NodeMetrics()
    ) {
        let loops = Array(group.makeIterator())
        self.loops = loops
        var index: [ObjectIdentifier: Int] = [:]
        for (i, loop) in loops.enumerated() { index[ObjectIdentifier(loop)] = i }
        self.loopIndex = index
        self.renderer = FrameRenderer(settings: settings)
        self.engine = engine
        self.metrics = metrics
        self.presence = NIOLockedValueBox(PresenceCounts(tracksChanges: engine.sharesPresence))
        // Each shard is created on its own loop: it is only ever touched there.
        self.shards = loops.map { loop in
            if loop.inEventLoop { return NIOLoopBound(LoopShard(loop: loop, metrics: metrics), eventLoop: loop) }
            return try! loop.submit { NIOLoopBound(LoopShard(loop: loop, metrics: metrics), eventLoop: loop) }.wait()
        }
    }

    /// The shard of the current event loop; only valid on one of the registry's loops.
    func shard(on loop: any EventLoop) -> LoopShard {
        shards[loopIndex[ObjectIdentifier(loop)]!].value
    }

    // MARK: Joining and leaving

    /// Registers `subscriber` for live messages on all its channels. Must run on its loop.
    /// The future completes once the engine delivers every later message (catch-up may start).
    /// It carries the backlog the engine read while it began hosting, when the subscriber has one
    /// channel and was the one to make the node host it (``MessageEngine/host(_:on:)``); it was
    /// registered before that read, so it may catch up from it.
    func add(_ subscriber: LiveSubscriber) -> EventLoopFuture<ChannelBacklog?> {
        let loop = subscriber.loop
        let index = loopIndex[ObjectIdentifier(loop)]!
        let kindBit = FrameKinds(subscriber.mode).rawValue.trailingZeroBitCount
        let channels = subscriber.channelNames
        shards[index].value.add(subscriber)
        connections.withLockedValue { $0[subscriber.mode, default: 0] += 1 }
        if let user = subscriber.user {
            presence.withLockedValue { $0.joined(user, channels: channels, newConnection: true) }
        }
        var waits: [EventLoopFuture<Void>] = []
        let newlyHosted: [(String, EventLoopPromise<Void>)] = hosting.withLockedValue { hosting in
            var newlyHosted: [(String, EventLoopPromise<Void>)] = []
            for channel in channels {
                var entry = hosting[channel] ?? ChannelHosting()
                if entry.total == 0 {
                    let promise = loop.makePromise(of: Void.self)
                    entry.live = promise.futureResult
                    newlyHosted.append((channel, promise))
                }
                if let live = entry.live { waits.append(live) }
                entry.loops.insert(index)
                entry.perKind[kindBit] += 1
                hosting[channel] = entry
            }
            return newlyHosted
        }
        engine.touch(channels)
        var hostingRead: EventLoopFuture<ChannelBacklog?>?
        for (channel, promise) in newlyHosted {
            let hosted = engine.host(channel, on: loop)
            hosted.whenComplete { promise.completeWith($0.map { _ in () }) }
            if channels.count == 1 { hostingRead = hosted }
            let live = promise.futureResult
            live.whenSuccess { [hosting] in
                hosting.withLockedValue { hosting in
                    if hosting[channel]?.live === live { hosting[channel]?.live = nil }
                }
            }
        }
        if let hostingRead { return hostingRead.hop(to: loop) }
        guard !waits.isEmpty else { return loop.makeSucceededFuture(nil) }
        if waits.count == 1 { return waits[0].hop(to: loop).map { nil } }
        return EventLoopFuture.andAllSucceed(waits.map { $0.hop(to: loop) }, on: loop).map { nil }
    }

    /// Removes `subscriber` from `channels` (all of its channels when nil). Must run on its loop.
    func remove(_ subscriber: LiveSubscriber, from channels: [String]) {
        let index = loopIndex[ObjectIdentifier(subscriber.loop)]!
        let kindBit = FrameKinds(subscriber.mode).rawValue.trailingZeroBitCount
        let shard = shards[index].value
        shard.remove(subscriber, from: channels)
        if !subscriber.isRegistered { connections.withLockedValue { $0[subscriber.mode, default: 0] -= 1 } }
        if let user = subscriber.user {
            presence.withLockedValue { $0.left(user, channels: channels, connectionEnded: !subscriber.isRegistered) }
        }
        let released: [String] = hosting.withLockedValue { hosting in
            var released: [String] = []
            for channel in channels {
                guard var entry = hosting[channel] else { continue }
                if entry.perKind[kindBit] > 0 { entry.perKind[kindBit] -= 1 }
                // Only this loop changes its own bit, always right after its shard changed.
                if !shard.hosts(channel) { entry.loops.remove(index) }
                if entry.total == 0 {
                    hosting[channel] = nil
                    released.append(channel)
                } else {
                    hosting[channel] = entry
                }
            }
            return released
        }
        engine.touch(channels)
        for channel in released { engine.release(channel) }
    }

    /// Local subscriber count of each channel.
    func subscriberCount(_ channel: String) -> Int {
        hosting.withLockedValue { $0[channel]?.total ?? 0 }
    }

    /// Subscriber connections on this node.
    var connectionCount: Int { connections.withLockedValue { $0.values.reduce(0, +) } }

    /// Subscriber connections on this node, by transport.
    var connectionsByMode: [SubscriberMode: Int] { connections.withLockedValue { $0 } }

    /// Channel memberships of the subscribers on this node (a connection to three channels: three).
    var subscriptionCount: Int { hosting.withLockedValue { $0.values.reduce(0) { $0 + $1.total } } }

    /// Channels with a subscriber on this node.
    var hostedChannelCount: Int { hosting.withLockedValue { $0.count } }

    /// Local subscriber counts of all hosted channels.
    public func localSubscriberCounts() -> [String: Int] {
        hosting.withLockedValue { $0.mapValues(\.total) }
    }

    public func localPresence(channel: String) -> [String: Int] {
        presence.withLockedValue { $0.channels[channel] ?? [:] }
    }

    public func localPresence(user: String) -> Int {
        presence.withLockedValue { $0.connections(of: user) }
    }

    public func takePresenceChanges(everything: Bool) -> PresenceChanges {
        presence.withLockedValue { presence in
            let changes = presence.takeChanges()
            guard everything else { return changes }
            // Everything there is, and what went away since the last write.
            var all = presence.everything()
            all.users += changes.users.filter { $0.connections == 0 }
            all.channels += changes.channels.filter { $0.connections == 0 }
            return all
        }
    }

    public func restorePresenceChanges(_ changes: PresenceChanges) {
        presence.withLockedValue { $0.restore(changes) }
    }

    // MARK: MessageSink

    public func deliver(_ message: Message) {
        guard let entry = hosting.withLockedValue({ $0[message.channel] }) else { return }
        var message = renderer.render(message, for: entry.kinds)
        message.arrived = .now()
        let rendered = message
        entry.loops.forEach { i in
            let shard = shards[i]
            loops[i].execute { shard.value.deliver(rendered) }
        }
    }

    public func channelDeleted(_ channel: String, notice: Message) {
        guard let entry = hosting.withLockedValue({ $0[channel] }) else { return }
        let rendered = renderer.render(notice, for: entry.kinds)
        entry.loops.forEach { i in
            let shard = shards[i]
            loops[i].execute { shard.value.channelDeleted(rendered) }
        }
    }

    public func deliverGap(_ channel: String, resumeAt point: StreamPoint, idsReused: Bool) {
        guard let entry = hosting.withLockedValue({ $0[channel] }) else { return }
        var notice = renderer.render(.missed(channel, resumeAt: point), for: entry.kinds)
        notice.resumeAt = point
        notice.idsReused = idsReused
        notice.arrived = .now()
        let rendered = notice
        entry.loops.forEach { i in
            let shard = shards[i]
            loops[i].execute { shard.value.deliver(rendered) }
        }
    }

    // MARK: Timers and shutdown

    /// Runs `body` with every shard, each on its own loop; completes when all have run.
    func forEachShard(_ body: @escaping @Sendable (LoopShard, any EventLoop) -> Void) -> EventLoopFuture<Void> {
        let futures = zip(loops, shards).map { loop, shard in loop.submit { body(shard.value, loop) } }
        return EventLoopFuture.andAllSucceed(futures, on: loops[0])
    }

    /// Starts each loop's sweeper: pings idle subscribers and ends those past their time to live;
    /// and each loop's lag probe.
    func startTimers(pingInterval: TimeSpan?) -> [RepeatedTask] {
        var tasks: [RepeatedTask] = []
        for (loop, shard) in zip(loops, shards) {
            // How late the loop runs a task due now: what every connection of it waits on top.
            tasks.append(
                loop.scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) {
                    [metrics] _ in
                    let due = NIODeadline.now()
                    loop.execute { metrics.eventLoopLag.recordNanoseconds((NIODeadline.now() - due).nanoseconds) }
                })
            tasks.append(
                loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { _ in
                    shard.value.sweep(now: .now())
                })
            if let pingInterval, pingInterval.milliseconds > 0 {
                let interval = TimeAmount.milliseconds(pingInterval.milliseconds)
                tasks.append(
                    loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                        shard.value.pingIdle()
                    })
            }
        }
        return tasks
    }
}

/// The subscribers of one event loop. Touched only on that loop, so it needs no lock.
final class LoopShard {
    /// The subscribers of one channel on this loop. Most channels have one: it is held without a
    /// dictionary of its own, which would cost an idle subscriber more than the entry itself.
    private enum Members {
        case one(LiveSubscriber)
        case many([ObjectIdentifier: LiveSubscriber])

        mutating func insert(_ subscriber: LiveSubscriber) {
            switch self {
            case .one(let other):
                guard other !== subscriber else { return }
                self = .many([ObjectIdentifier(other): other, ObjectIdentifier(subscriber): subscriber])
            case .many(var members):
                self = .one(subscriber)  // lets go of the dictionary, so it grows in place
                members[ObjectIdentifier(subscriber)] = subscriber
                self = .many(members)
            }
        }

        /// Removes `subscriber`; false when none is left.
        mutating func remove(_ subscriber: LiveSubscriber) -> Bool {
            switch self {
            case .one(let other):
                return other !== subscriber
            case .many(var members):
                self = .one(subscriber)
                members[ObjectIdentifier(subscriber)] = nil
                if members.count == 1, let last = members.values.first {
                    self = .one(last)
                } else {
                    self = .many(members)
                }
                return !members.isEmpty
            }
        }

        func forEach(_ body: (LiveSubscriber) -> Void) {
            switch self {
            case .one(let subscriber): body(subscriber)
            case .many(let members): for subscriber in members.values { body(subscriber) }
            }
        }
    }

    let loop: any EventLoop
    /// The request deadlines of this loop's HTTP connections.
    let deadlines: LoopDeadlines
    private let metrics: NodeMetrics
    private var byChannel: [String: Members] = [:]
    private(set) var all: [ObjectIdentifier: LiveSubscriber] = [:]
    private var toFlush: [LiveSubscriber] = []
    /// When the oldest message of the writes `toFlush` holds reached the node.
    private var oldestUnflushed: NIODeadline?

    init(loop: any EventLoop, metrics: NodeMetrics) {
        self.loop = loop
        self.deadlines = LoopDeadlines(loop: loop)
        self.metrics = metrics
    }

    /// Flushes `subscriber` once the tasks already queued on the loop have run: deliveries handed
    /// to this loop together share one write per subscriber.
    func scheduleFlush(_ subscriber: LiveSubscriber) {
        toFlush.append(subscriber)
        guard toFlush.count == 1 else { return }
        loop.assumeIsolated().execute { [self] in
            let flushing = toFlush
            toFlush.removeAll(keepingCapacity: true)
            for subscriber in flushing { subscriber.flushNow() }
            // One latency sample per write batch (its oldest message), not one per subscriber.
            if let oldest = oldestUnflushed {
                oldestUnflushed = nil
                metrics.recordDeliveryLatency(since: oldest)
            }
        }
    }

    func add(_ subscriber: LiveSubscriber) {
        all[ObjectIdentifier(subscriber)] = subscriber
        for channel in subscriber.channels where channel.active {
            if byChannel[channel.channel]?.insert(subscriber) == nil { byChannel[channel.channel] = .one(subscriber) }
        }
    }

    func remove(_ subscriber: LiveSubscriber, from channels: [String]) {
        for channel in channels where byChannel[channel]?.remove(subscriber) == false {
            byChannel[channel] = nil
        }
        if !subscriber.isRegistered { all[ObjectIdentifier(subscriber)] = nil }
    }

    /// Whether a subscriber of `channel` is on this loop.
    func hosts(_ channel: String) -> Bool { byChannel[channel] != nil }

    // Each walks a copy: a subscriber may leave its channels while being told.
    func deliver(_ rendered: RenderedMessage) {
        guard let members = byChannel[rendered.message.channel] else { return }
        var reached = 0
        members.forEach { subscriber in
            subscriber.receive(rendered)
            reached += 1
        }
        metrics.delivered.increment(by: reached)
        guard let arrived = rendered.arrived else { return }
        if toFlush.isEmpty {
            metrics.recordDeliveryLatency(since: arrived)  // written already (long-polls answered)
        } else if oldestUnflushed == nil {
            oldestUnflushed = arrived
        }
    }

    func channelDeleted(_ rendered: RenderedMessage) {
        guard let members = byChannel[rendered.message.channel] else { return }
        members.forEach { $0.channelDeleted(rendered) }
    }

    func sweep(now: NIODeadline) {
        for subscriber in all.values {
            if subscriber.grantDeadline <= now {
                subscriber.grantExpired()
            } else if subscriber.deadline <= now {
                subscriber.expire()
            }
        }
    }

    /// Pings every subscriber that had nothing written since the previous round.
    func pingIdle() {
        for subscriber in all.values {
            if !subscriber.wroteSincePing { subscriber.ping() }
            subscriber.wroteSincePing = false
        }
    }

    /// The grace period is over: whoever is left is closed (its client resumes elsewhere).
    func closeAll() {
        for subscriber in Array(all.values) { subscriber.finish(sendFooter: false) }
    }

    /// Lets every subscriber go (the node is stopping), spread over `period` so they do not all
    /// reconnect to the other nodes in the same instant: footer, close frame, end of stream.
    func drain(over period: TimeAmount, on loop: any EventLoop) {
        let subscribers = Array(all.values)
        guard !subscribers.isEmpty else { return }
        let steps = min(subscribers.count, 50)
        for step in 0..<steps {
            let batch = subscribers[(step * subscribers.count / steps)..<((step + 1) * subscribers.count / steps)]
            let delay = TimeAmount.nanoseconds(period.nanoseconds * Int64(step) / Int64(steps))
            loop.assumeIsolated().scheduleTask(in: delay) {
                for subscriber in batch { subscriber.shutdown() }
            }
        }
    }
}
