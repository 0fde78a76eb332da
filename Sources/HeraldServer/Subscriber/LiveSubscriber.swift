import HeraldCore
import HeraldPublisher
import NIOCore

/// What one subscriber connection asked for on one channel, and how far it has got.
struct ChannelSubscription {
    let channel: String
    /// Where the subscriber asked to resume from.
    let resume: ResumePoint
    /// The last message delivered or deliberately skipped (its id, generation, time and tag): the
    /// cursor's value, and the single-channel `Last-Modified`/`Etag` form of the same point.
    var point = StreamPoint.start(of: 0)
    /// Live messages that arrived while the backlog was being read.
    var pending: [RenderedMessage] = []
    var catchingUp = true
    var active = true

    /// Until the backlog is read, the subscriber stands where it asked to resume from: an answer
    /// given before then (a node stopping) repeats the client's own point rather than 0.
    init(channel: String, resume: ResumePoint) {
        self.channel = channel
        self.resume = resume
        switch resume {
        case .afterID(let id, let generation): point = StreamPoint(id: id, generation: generation, time: 0, tag: 0)
        case .since(let time, let tag): point = StreamPoint(id: 0, generation: 0, time: time, tag: tag ?? 0)
        case .none, .backtrack, .afterEventID: break
        }
    }

    /// Whether a gap notice that puts its subscribers at `notice` concerns this one: it comes from
    /// another generation, or from beyond where this subscriber stands.
    func isBehind(_ notice: StreamPoint) -> Bool {
        notice.generation != point.generation || notice.id > point.id
    }
}

/// A subscriber connection registered for live messages: the catch-up and de-duplication logic
/// every transport shares. Lives on its event loop; subclasses write the frames.
///
/// Joining follows the delivery invariant "subscribe, then catch up": register for live
/// messages first (held in `pending`), read the backlog, deliver what follows the resume point,
/// then the held messages with a higher id. No gap, no duplicate, order kept.
class LiveSubscriber {
    // Stored properties go largest first, the flags last and together: an idle subscriber is
    // mostly this object, so padding counts.
    let registry: SubscriberRegistry
    var channels: [ChannelSubscription]
    /// When the connection ends on its own (time to live).
    var deadline: NIODeadline = .distantFuture
    /// What the subscriber's grant (or the cookie check) said, when the node asked for one:
    /// one reference, so a node without auth pays a word per subscriber for it.
    private(set) var admission: Admission?
    /// Bytes of live messages held during catch-up; bounded like the socket's output.
    private var pendingBytes = 0
    /// This loop's shard, which flushes its subscribers once per turn.
    private let shard: LoopShard
    /// Frames given during this turn of the loop, written as one buffer at the flush.
    private var outgoing = OutgoingFrames()
    let mode: SubscriberMode
    /// Whether anything was written since the last ping round; an idle subscriber gets a ping.
    /// A flag rather than a timestamp keeps the clock off the per-message path.
    var wroteSincePing = true
    private(set) var isRegistered = false
    /// Written but not flushed yet; the shard flushes at the end of this turn of the loop.
    private var flushPending = false

    init(mode: SubscriberMode, loop: any EventLoop, registry: SubscriberRegistry, channels: [ChannelSubscription]) {
        self.mode = mode
        self.registry = registry
        self.channels = channels
        self.shard = registry.shard(on: loop)
    }

    /// The subscriber's event loop (its shard's).
    var loop: any EventLoop { shard.loop }

    private var maxPendingBytes: Int { registry.renderer.settings.maxSubscriberBuffer.bytes }

    /// Flushes at the end of this turn of the event loop, so messages that arrive together (a
    /// burst of publishes, a catch-up) leave in one system call instead of one each.
    func requestFlush() {
        guard !flushPending else { return }
        flushPending = true
        shard.scheduleFlush(self)
    }

    /// Queues a frame for this turn's write and asks for the flush.
    func queue(_ frame: ByteBuffer) {
        wroteSincePing = true
        outgoing.append(frame)
        requestFlush()
    }

    /// Hands this turn's frames to the pipeline; call before writing anything directly, so it follows them.
    func writeOutgoing(to context: ChannelHandlerContext?) {
        if let frames = outgoing.take() { context?.write(NIOAny(frames), promise: nil) }
    }

    /// Called by the shard: write out what `requestFlush` held.
    func flushNow() {
        flushPending = false
        flushOutput()
    }

    /// The channels this connection still reads. One array in one pass: `filter` then `map` made
    /// two on each of a connect's calls.
    var channelNames: [String] {
        var names: [String] = []
        names.reserveCapacity(channels.count)
        for channel in channels where channel.active { names.append(channel.channel) }
        return names
    }
    var isSingleChannel: Bool { channels.count == 1 }

    /// The resume cursor of this connection: every channel's position.
    var cursor: ResumeCursor {
        ResumeCursor(
            channels.map { ChannelPosition(channel: $0.channel, lastID: $0.point.id, generation: $0.point.generation) })
    }

    // MARK: Joining

    /// Registers for live messages, then reads each channel's backlog and catches up.
    /// The future fails if the engine cannot host the channels.
    func start() -> EventLoopFuture<Void> {
        isRegistered = true
        for channel in channels where channel.active {
            registry.engine.recordSubscriberEvent("client_subscribed", channel: channel.channel, user: user)
        }
        return registry.add(self).hop(to: loop).assumeIsolated().flatMap { [self] hostingRead in
            // The read the engine made to start hosting this subscriber's channel is as good as one
            // of its own: it was made after this subscriber was registered.
            if let hostingRead, channels.count == 1 { return loop.makeSucceededFuture([hostingRead]) }
            // Most subscribers have one channel: gathering a single read through `whenAllSucceed`
            // cost 3% of a connect.
            if channels.count == 1 {
                return registry.engine.backlog(channels[0].channel, on: loop).hop(to: loop).map { [$0] }
            }
            let reads = channels.map { registry.engine.backlog($0.channel, on: loop).hop(to: loop) }
            return EventLoopFuture.whenAllSucceed(reads, on: loop)
        }.map { [self] backlogs in catchUp(backlogs) }.nonisolated()
    }

    /// Delivers what each channel's backlog holds after its resume point, then what was held.
    ///
    /// Every position is set before anything is written, so the cursor a client sees while one
    /// channel catches up never claims too little (or too much) for another.
    private func catchUp(_ backlogs: [ChannelBacklog]) {
        guard isRegistered else { return }
        let selections = zip(channels, backlogs).map { channel, backlog in Resume.select(backlog, after: channel.resume)
        }
        for i in channels.indices {
            channels[i].point = selections[i].messages.isEmpty ? selections[i].end : selections[i].start
        }
        let kinds = FrameKinds(mode)
        for i in channels.indices where channels[i].resume != .none {
            registry.metrics.resumed(missed: selections[i].missed)
        }
        // The notices first, then every channel's messages in publish order.
        for i in channels.indices where channels[i].active && selections[i].missed {
            let notice = Message.missed(channels[i].channel, resumeAt: selections[i].start)
            emit(registry.renderer.render(notice, for: kinds), catchUp: true)
        }
        for (i, message) in Resume.interleave(selections) {
            guard isRegistered else { break }
            guard channels[i].active else { continue }
            channels[i].point = message.point
            emit(registry.renderer.render(message, for: kinds), catchUp: true)
        }
        for i in channels.indices where channels[i].active && selections[i].end.id > channels[i].point.id {
            channels[i].point = selections[i].end
        }
        pendingBytes = 0
        for i in channels.indices {
            channels[i].catchingUp = false
            let held = channels[i].pending
            channels[i].pending = []
            for rendered in held where isRegistered { receive(rendered) }
        }
        if isRegistered { caughtUp() }
    }

    // MARK: Receiving

    /// A live message for one of this subscriber's channels.
    func receive(_ rendered: RenderedMessage) {
        guard let i = channels.firstIndex(where: { $0.channel == rendered.message.channel && $0.active }) else {
            return
        }
        if channels[i].catchingUp {
            pendingBytes += rendered.message.text.count
            guard pendingBytes <= maxPendingBytes else { return overflow() }
            channels[i].pending.append(rendered)
            return
        }
        if rendered.message.id == Message.missedID {
            // Messages between here and the notice's point are gone: say so once, then follow it.
            guard let point = rendered.resumeAt,
                channels[i].isBehind(point) || (rendered.idsReused && channels[i].point.id > point.id)
            else { return }
            channels[i].point = point
            return emit(rendered, catchUp: false)
        }
        guard rendered.message.id > channels[i].point.id else { return }  // already delivered by catch-up
        channels[i].point = rendered.message.point
        emit(rendered, catchUp: false)
    }

    /// The channel was deleted: deliver the notice, then leave that channel (and the
    /// connection, when it was the last one).
    func channelDeleted(_ rendered: RenderedMessage) {
        guard let i = channels.firstIndex(where: { $0.channel == rendered.message.channel && $0.active }) else {
            return
        }
        channels[i].active = false
        registry.remove(self, from: [channels[i].channel])
        emit(rendered, catchUp: false)
        if !channels.contains(where: \.active) { finish(sendFooter: true) }
    }

    /// Leaves every channel. Idempotent; called when the connection ends for any reason.
    func unregister() {
        guard isRegistered else { return }
        isRegistered = false
        let names = channelNames
        registry.remove(self, from: names)
        for name in names { registry.engine.recordSubscriberEvent("client_unsubscribed", channel: name, user: user) }
    }

    // MARK: Closing

    /// Closes the connection once `flushed` completes (the last frames are out), or after the close
    /// timeout, whichever comes first.
    func close(_ context: ChannelHandlerContext, once flushed: EventLoopFuture<Void>) {
        ConnectionClosing.close(context.channel, after: flushed, timeout: registry.renderer.settings.closeTimeout)
    }

    /// The grant-expired notice for this subscriber.
    var grantNotice: Message {
        let first = channels.first(where: \.active) ?? channels[0]
        return .grantExpired(first.channel, at: first.point)
    }

    /// Takes on what the subscriber's grant (or the app's cookie check) says: who the subscriber
    /// is, and until when it may read. Before ``start()``.
    func admit(_ grant: Grant?) {
        guard let grant, grant.expires != nil || grant.user != nil else { return }
        admission = Admission(deadline: Self.deadline(of: grant), user: grant.user)
    }

    /// When the subscriber's grant ends: the subscription ends then, with the -5 notice.
    var grantDeadline: NIODeadline { admission?.deadline ?? .distantFuture }
    /// Who the subscriber is (its grant's `sub`, or the user the cookie check named): presence.
    var user: String? { admission?.user }

    /// The moment `grant` ends, as a deadline of this process's clock.
    static func deadline(of grant: Grant?) -> NIODeadline {
        guard let expires = grant?.expires else { return .distantFuture }
        return .now() + .seconds(max(0, expires - UnixClock.now()))
    }

    // MARK: For subclasses

    /// Writes one message (live, catch-up, notice) to the client.
    func emit(_ rendered: RenderedMessage, catchUp: Bool) { fatalError("abstract") }
    /// Every channel has caught up.
    func caughtUp() {}
    /// Flushes the connection's written output.
    func flushOutput() {}
    /// Keeps an idle connection alive.
    func ping() {}
    /// The connection's time to live has passed.
    func expire() { finish(sendFooter: true) }
    /// The node is stopping.
    func shutdown() { finish(sendFooter: true) }
    /// The grant has expired: the notice (at where the client stands on its first channel), then
    /// the end of the subscription, footer included; never served past expiry, never cut silently.
    func grantExpired() {
        emit(registry.renderer.render(grantNotice, for: FrameKinds(mode)), catchUp: false)
        finish(sendFooter: true)
    }
    /// Ends the subscription: footer when asked, then close.
    func finish(sendFooter: Bool) { fatalError("abstract") }
    /// Unsent output passed the bound (a client reading too slowly, or held messages during
    /// catch-up): the connection is let go, and the client resumes from the backlog.
    func overflow() {
        registry.metrics.slowDisconnects.increment()
        registry.metrics.droppedSlow.increment(by: channels.reduce(0) { $0 + $1.pending.count })
        finish(sendFooter: false)
    }

    /// The connection's unsent output passed `--max-subscriber-buffer`: counts what is thrown
    /// away, then lets it go.
    func outputOverflowed(_ context: ChannelHandlerContext) {
        let unsent = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        registry.metrics.droppedSlowBytes.increment(by: unsent)
        overflow()
    }
}

/// A subscriber's grant, as far as the connection needs it after admission.
final class Admission {
    /// When the grant ends (`.distantFuture`: never).
    let deadline: NIODeadline
    let user: String?

    init(deadline: NIODeadline, user: String?) {
        self.deadline = deadline
        self.user = user
    }
}
