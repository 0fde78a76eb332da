import HeraldCore
import NIOConcurrencyHelpers
import NIOCore

/// Which event loops host subscribers of one channel, and which transports they use.
struct ChannelHosting: Sendable {
    /// Subscriber count per event loop, indexed like the registry's shards.
    var perLoop: [Int]
    /// Subscriber count per transport kind (bit index of ``FrameKinds``).
    var perKind: [Int] = [0, 0, 0, 0]
    var total = 0
    /// Completes when the engine delivers the channel's messages: every joiner waits for it, not
    /// only the first (a second subscriber must not read the backlog before the channel is live).
    var live: EventLoopFuture<Void>?

    init(loops: Int) { perLoop = Array(repeating: 0, count: loops) }

    var kinds: FrameKinds {
        var kinds = FrameKinds()
        for bit in 0..<perKind.count where perKind[bit] > 0 { kinds.insert(FrameKinds(rawValue: 1 << bit)) }
        return kinds
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
    /// Subscriber connections (a connection to three channels counts once).
    private let connections = NIOLockedValueBox(0)
    let renderer: FrameRenderer
    let engine: any MessageEngine

    public init(group: any EventLoopGroup, engine: any MessageEngine, settings: NodeSettings) {
        let loops = Array(group.makeIterator())
        self.loops = loops
        var index: [ObjectIdentifier: Int] = [:]
        for (i, loop) in loops.enumerated() { index[ObjectIdentifier(loop)] = i }
        self.loopIndex = index
        self.renderer = FrameRenderer(settings: settings)
        self.engine = engine
        // Each shard is created on its own loop: it is only ever touched there.
        self.shards = loops.map { loop in
            if loop.inEventLoop { return NIOLoopBound(LoopShard(), eventLoop: loop) }
            return try! loop.submit { NIOLoopBound(LoopShard(), eventLoop: loop) }.wait()
        }
    }

    /// The shard of the current event loop; only valid on one of the registry's loops.
    func shard(on loop: any EventLoop) -> LoopShard {
        shards[loopIndex[ObjectIdentifier(loop)]!].value
    }

    // MARK: Joining and leaving

    /// Registers `subscriber` for live messages on all its channels. Must run on its loop.
    /// The future completes once the engine delivers every later message (catch-up may start).
    func add(_ subscriber: LiveSubscriber) -> EventLoopFuture<Void> {
        let loop = subscriber.loop
        let index = loopIndex[ObjectIdentifier(loop)]!
        let kindBit = FrameKinds(subscriber.mode).rawValue.trailingZeroBitCount
        let channels = subscriber.channelNames
        shards[index].value.add(subscriber)
        connections.withLockedValue { $0 += 1 }
        var waits: [EventLoopFuture<Void>] = []
        let newlyHosted: [(String, EventLoopPromise<Void>)] = hosting.withLockedValue { hosting in
            var newlyHosted: [(String, EventLoopPromise<Void>)] = []
            for channel in channels {
                var entry = hosting[channel] ?? ChannelHosting(loops: loops.count)
                if entry.total == 0 {
                    let promise = loop.makePromise(of: Void.self)
                    entry.live = promise.futureResult
                    newlyHosted.append((channel, promise))
                }
                if let live = entry.live { waits.append(live) }
                entry.perLoop[index] += 1
                entry.perKind[kindBit] += 1
                entry.total += 1
                hosting[channel] = entry
            }
            return newlyHosted
        }
        engine.touch(channels)
        for (channel, promise) in newlyHosted { engine.host(channel, on: loop).cascade(to: promise) }
        guard !waits.isEmpty else { return loop.makeSucceededVoidFuture() }
        return EventLoopFuture.andAllSucceed(waits.map { $0.hop(to: loop) }, on: loop)
    }

    /// Removes `subscriber` from `channels` (all of its channels when nil). Must run on its loop.
    func remove(_ subscriber: LiveSubscriber, from channels: [String]) {
        let index = loopIndex[ObjectIdentifier(subscriber.loop)]!
        let kindBit = FrameKinds(subscriber.mode).rawValue.trailingZeroBitCount
        shards[index].value.remove(subscriber, from: channels)
        if !subscriber.isRegistered { connections.withLockedValue { $0 -= 1 } }
        let released: [String] = hosting.withLockedValue { hosting in
            var released: [String] = []
            for channel in channels {
                guard var entry = hosting[channel] else { continue }
                entry.perLoop[index] -= 1
                entry.perKind[kindBit] -= 1
                entry.total -= 1
                if entry.total <= 0 {
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
    var connectionCount: Int { connections.withLockedValue { $0 } }

    /// Local subscriber counts of all hosted channels.
    public func localSubscriberCounts() -> [String: Int] {
        hosting.withLockedValue { $0.mapValues(\.total) }
    }

    // MARK: MessageSink

    public func deliver(_ message: Message) {
        guard let entry = hosting.withLockedValue({ $0[message.channel] }) else { return }
        let rendered = renderer.render(message, for: entry.kinds)
        for (i, count) in entry.perLoop.enumerated() where count > 0 {
            let shard = shards[i]
            loops[i].execute { shard.value.deliver(rendered) }
        }
    }

    public func channelDeleted(_ channel: String, notice: Message) {
        guard let entry = hosting.withLockedValue({ $0[channel] }) else { return }
        let rendered = renderer.render(notice, for: entry.kinds)
        for (i, count) in entry.perLoop.enumerated() where count > 0 {
            let shard = shards[i]
            loops[i].execute { shard.value.channelDeleted(rendered) }
        }
    }

    public func channelReset(_ channel: String) {
        guard let entry = hosting.withLockedValue({ $0[channel] }) else { return }
        for (i, count) in entry.perLoop.enumerated() where count > 0 {
            let shard = shards[i]
            loops[i].execute { shard.value.channelReset(channel) }
        }
    }

    // MARK: Timers and shutdown

    /// Runs `body` with every shard, each on its own loop; completes when all have run.
    func forEachShard(_ body: @escaping @Sendable (LoopShard, any EventLoop) -> Void) -> EventLoopFuture<Void> {
        let futures = zip(loops, shards).map { loop, shard in loop.submit { body(shard.value, loop) } }
        return EventLoopFuture.andAllSucceed(futures, on: loops[0])
    }

    /// Starts each loop's sweeper: pings idle subscribers and ends those past their time to live.
    func startTimers(pingInterval: TimeSpan?) -> [RepeatedTask] {
        var tasks: [RepeatedTask] = []
        for (loop, shard) in zip(loops, shards) {
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
    private var byChannel: [String: [ObjectIdentifier: LiveSubscriber]] = [:]
    private(set) var all: [ObjectIdentifier: LiveSubscriber] = [:]
    private var toFlush: [LiveSubscriber] = []

    /// Flushes `subscriber` once the tasks already queued on the loop have run: deliveries handed
    /// to this loop together share one write per subscriber.
    func scheduleFlush(_ subscriber: LiveSubscriber, on loop: any EventLoop) {
        toFlush.append(subscriber)
        guard toFlush.count == 1 else { return }
        loop.assumeIsolated().execute { [self] in
            let flushing = toFlush
            toFlush.removeAll(keepingCapacity: true)
            for subscriber in flushing { subscriber.flushNow() }
        }
    }

    func add(_ subscriber: LiveSubscriber) {
        let id = ObjectIdentifier(subscriber)
        all[id] = subscriber
        for channel in subscriber.channelNames { byChannel[channel, default: [:]][id] = subscriber }
    }

    func remove(_ subscriber: LiveSubscriber, from channels: [String]) {
        let id = ObjectIdentifier(subscriber)
        for channel in channels {
            byChannel[channel]?[id] = nil
            if byChannel[channel]?.isEmpty == true { byChannel[channel] = nil }
        }
        if !subscriber.isRegistered { all[id] = nil }
    }

    func deliver(_ rendered: RenderedMessage) {
        guard let subscribers = byChannel[rendered.message.channel] else { return }
        for subscriber in subscribers.values { subscriber.receive(rendered) }
    }

    func channelDeleted(_ rendered: RenderedMessage) {
        guard let subscribers = byChannel[rendered.message.channel] else { return }
        for subscriber in subscribers.values { subscriber.channelDeleted(rendered) }
    }

    func channelReset(_ channel: String) {
        guard let subscribers = byChannel[channel] else { return }
        for subscriber in subscribers.values { subscriber.channelReset(channel) }
    }

    func sweep(now: NIODeadline) {
        for subscriber in all.values where subscriber.deadline <= now { subscriber.expire() }
    }

    /// Pings every subscriber that had nothing written since the previous round.
    func pingIdle() {
        for subscriber in all.values {
            if !subscriber.wroteSincePing { subscriber.ping() }
            subscriber.wroteSincePing = false
        }
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
