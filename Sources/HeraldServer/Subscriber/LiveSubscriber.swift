import HeraldCore
import NIOCore

/// What one subscriber connection asked for on one channel, and how far it has got.
struct ChannelSubscription {
    let channel: String
    /// Where the subscriber asked to resume from.
    let resume: ResumePoint
    /// The id of the last message delivered or deliberately skipped; the cursor's value.
    var position: Int64 = 0
    /// Publish time and tag of the message at `position`, when known: the single-channel
    /// `Last-Modified`/`Etag` form of the same point.
    var positionTime: Int64 = 0
    var positionTag: Int64 = 0
    /// Live messages that arrived while the backlog was being read.
    var pending: [RenderedMessage] = []
    var catchingUp = true
    var active = true

    mutating func advance(to message: Message) {
        position = message.id
        positionTime = message.time
        positionTag = message.tag
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

    var channelNames: [String] { channels.filter(\.active).map(\.channel) }
    var isSingleChannel: Bool { channels.count == 1 }

    /// The resume cursor of this connection: every channel's position.
    var cursor: ResumeCursor {
        ResumeCursor(channels.map { ChannelPosition(channel: $0.channel, lastID: $0.position) })
    }

    // MARK: Joining

    /// Registers for live messages, then reads each channel's backlog and catches up.
    /// The future fails if the engine cannot host the channels.
    func start() -> EventLoopFuture<Void> {
        isRegistered = true
        for name in channelNames { registry.engine.recordSubscriberEvent("client_subscribed", channel: name) }
        return registry.add(self).hop(to: loop).assumeIsolated().flatMap { [self] in
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
        let selections = zip(channels, backlogs).map { channel, backlog in
            Resume.select(stored: backlog.messages, lastID: backlog.lastID, after: channel.resume)
        }
        for i in channels.indices {
            channels[i].position = selections[i].messages.first.map { $0.id - 1 } ?? backlogs[i].lastID
            if case .since(let time, let tag) = channels[i].resume {
                channels[i].positionTime = time
                channels[i].positionTag = tag ?? 0
            }
            if let at = backlogs[i].messages.last(where: { $0.id <= channels[i].position }) {
                channels[i].positionTime = at.time
                channels[i].positionTag = at.tag
            }
        }
        let kinds = FrameKinds(mode)
        for i in channels.indices where channels[i].active {
            if selections[i].missed {
                emit(registry.renderer.render(.missed(channels[i].channel), for: kinds), catchUp: true)
            }
            for message in selections[i].messages {
                guard isRegistered, channels[i].active else { break }
                channels[i].advance(to: message)
                emit(registry.renderer.render(message, for: kinds), catchUp: true)
            }
            channels[i].position = max(channels[i].position, backlogs[i].lastID)
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
        if rendered.message.id == Message.missedID {
            return emit(rendered, catchUp: false)  // a notice, not a message: no position
        }
        if channels[i].catchingUp {
            pendingBytes += rendered.message.text.count
            guard pendingBytes <= maxPendingBytes else { return overflow() }
            channels[i].pending.append(rendered)
            return
        }
        guard rendered.message.id > channels[i].position else { return }  // already delivered by catch-up
        channels[i].advance(to: rendered.message)
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

    /// The channel's ids restarted: accept them from 1 again.
    func channelReset(_ channel: String) {
        for i in channels.indices where channels[i].channel == channel { channels[i].position = 0 }
    }

    /// Leaves every channel. Idempotent; called when the connection ends for any reason.
    func unregister() {
        guard isRegistered else { return }
        isRegistered = false
        let names = channelNames
        registry.remove(self, from: names)
        for name in names { registry.engine.recordSubscriberEvent("client_unsubscribed", channel: name) }
    }

    // MARK: Closing

    /// Closes the connection once `flushed` completes (the last frames are out), or after the close
    /// timeout, whichever comes first.
    func close(_ context: ChannelHandlerContext, once flushed: EventLoopFuture<Void>) {
        ConnectionClosing.close(context.channel, after: flushed, timeout: registry.renderer.settings.closeTimeout)
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
    /// Ends the subscription: footer when asked, then close.
    func finish(sendFooter: Bool) { fatalError("abstract") }
    /// Held messages passed the output bound during catch-up: the client must resume later.
    func overflow() { finish(sendFooter: false) }
}
