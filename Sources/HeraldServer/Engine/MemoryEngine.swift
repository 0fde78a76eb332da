import HeraldCore
import HeraldPublisher
import NIOConcurrencyHelpers
import NIOCore

/// The single-node engine: backlog and pub/sub in this process, no dependency.
///
/// One lock guards all channels. A publish assigns the id, appends and hands the message to the
/// sink while holding it, which is what keeps delivery in id order per channel; the sink only
/// enqueues work on event loops, so the lock is never held across a socket write.
///
/// Nothing holds the lock for work proportional to the number of channels: totals are counters
/// kept up to date, and expiry walks the channels a bounded batch at a time (``sweepBatch`` per
/// tick of ``sweepTick``), so a publish never waits more than one batch.
public final class MemoryEngine: MessageEngine {
    public struct Configuration: Sendable {
        public var maxMessagesStoredPerChannel: Int
        public var messageTTL: Int64
        public var channelInactivityTime: Int64
        public var maxNumberOfChannels: Int?
        public var maxNumberOfWildcardChannels: Int?
        public var wildcardChannelPrefix: String?
        public var eventsChannelID: String?
        /// Seconds a publish's idempotency key is remembered.
        public var idempotencyWindow: Int64

        public init(_ settings: NodeSettings) {
            maxMessagesStoredPerChannel = settings.maxMessagesStoredPerChannel
            messageTTL = settings.messageTTL.seconds
            channelInactivityTime = settings.channelInactivityTime.seconds
            maxNumberOfChannels = settings.maxNumberOfChannels
            maxNumberOfWildcardChannels = settings.maxNumberOfWildcardChannels
            wildcardChannelPrefix = settings.wildcardChannelPrefix
            eventsChannelID = settings.eventsChannelID
            idempotencyWindow = max(1, settings.idempotencyWindow.seconds)
        }
    }

    private struct Channel {
        var queue = MessageQueue()
        /// Where the channel's name is in `State.names`.
        var slot: Int
        var lastID: Int64 = 0
        var lastTime: Int64 = 0
        var lastTag: Int64 = 0
        /// This incarnation of the channel (see `StreamPoint`): a new one after a delete or restart.
        let generation: Int64
        var order: UInt64
        var lastActivity: Int64
        var hosted = 0
        let isWildcard: Bool
        /// The answers of publishes with an idempotency key, until they expire (Unix seconds).
        var answered: [String: (id: Int64, time: Int64, tag: Int64, expires: Int64)] = [:]
    }

    private struct State {
        var channels: [String: Channel] = [:]
        /// Every channel's name, in no order: what the sweep walks (from the end down, so a removal,
        /// which moves the last name into the gap, never hides a name from it).
        var names: [String] = []
        var nextOrder: UInt64 = 0
        var generations = GenerationClock()
        /// Messages published so far, every channel together: each message's ``Message/order``.
        var published: Int64 = 0
        var wildcardChannels = 0
        var publishedMessages: Int64 = 0
        /// Messages in all backlogs, kept up to date with every change to one.
        var storedMessages: Int64 = 0
        /// The sweep's next index into `names`; below 0 once a round is done.
        var sweepCursor = -1
        /// When the next sweep round may start (Unix seconds).
        var nextSweepRound: Int64 = 0
        var sink: (any MessageSink)?

        /// Forgets a channel, keeping `names` dense.
        mutating func remove(_ name: String) -> Channel? {
            guard let channel = channels.removeValue(forKey: name) else { return nil }
            let last = names.removeLast()
            if channel.slot < names.count {
                names[channel.slot] = last
                channels[last]!.slot = channel.slot
            }
            if channel.isWildcard { wildcardChannels -= 1 }
            storedMessages -= Int64(channel.queue.count)
            return channel
        }
    }

    /// Channels looked at per sweep tick: a tick holds the lock for about this many dictionary
    /// look-ups (well under a millisecond), and 100,000 channels are swept in five seconds.
    static let sweepBatch = 2_000
    /// How often a sweep tick runs.
    static let sweepTick = TimeAmount.milliseconds(100)
    /// A sweep round starts at most this often (seconds).
    static let sweepRound: Int64 = 5

    private let configuration: Configuration
    private let state = NIOLockedValueBox(State())
    private let clock: @Sendable () -> Int64
    private let sweeper = NIOLockedValueBox<RepeatedTask?>(nil)

    /// - Parameters:
    ///   - clock: Unix time now in microseconds; injected so tests can move time. Messages carry
    ///     its seconds; a channel's generation is its microseconds when the channel is made.
    public init(configuration: Configuration, clock: @escaping @Sendable () -> Int64 = UnixClock.microseconds) {
        self.configuration = configuration
        self.clock = clock
        if let events = configuration.eventsChannelID {
            state.withLockedValue { state in
                _ = Self.channel(events, in: &state, configuration: configuration, micros: clock(), limits: false)
            }
        }
    }

    /// Expires messages and forgets inactive channels: a round every few seconds, a batch per tick.
    public func start(on loop: any EventLoop) {
        let task = loop.scheduleRepeatedTask(initialDelay: Self.sweepTick, delay: Self.sweepTick) { [weak self] _ in
            self?.sweepStep()
        }
        sweeper.withLockedValue { $0 = task }
    }

    public func shutdown(on loop: any EventLoop) -> EventLoopFuture<Void> {
        sweeper.withLockedValue { $0?.cancel() }
        return loop.makeSucceededVoidFuture()
    }

    public func attach(_ sink: any MessageSink) {
        state.withLockedValue { $0.sink = sink }
    }

    // MARK: Publishing

    public func publish(_ request: PublishRequest, on loop: any EventLoop) -> EventLoopFuture<[Publication]> {
        let micros = clock()
        let now = micros / 1_000_000
        let result: Result<[Publication], ProtocolError> = state.withLockedValue { state in
            var published: [Publication] = []
            published.reserveCapacity(request.channels.count)
            for name in request.channels {
                if let key = request.idempotencyKey, let channel = state.channels[name],
                    let first = channel.answered[key], first.expires > now
                {
                    // A retry: the first publish's answer, nothing stored or sent again.
                    let message = Message(
                        channel: name, id: first.id, time: first.time, tag: first.tag, eventID: request.eventID,
                        eventType: request.eventType, text: request.text, generation: channel.generation)
                    let record = ChannelRecord(channel: name, lastID: first.id, storedMessages: channel.queue.count)
                    published.append(Publication(message: message, record: record))
                    continue
                }
                guard
                    let message = publishLocked(
                        name, text: request.text, eventID: request.eventID, eventType: request.eventType,
                        store: request.store, micros: micros, state: &state)
                else { return .failure(.channelsLimitExceeded) }
                if let key = request.idempotencyKey {
                    state.channels[name]?.answered[key] = (
                        message.id, message.time, message.tag, now + configuration.idempotencyWindow
                    )
                }
                let stored = state.channels[name]?.queue.count ?? 0
                let record = ChannelRecord(channel: name, lastID: message.id, storedMessages: stored)
                published.append(Publication(message: message, record: record))
            }
            return .success(published)
        }
        return loop.makeCompletedFuture(result.mapError { $0 as any Error })
    }

    /// Assigns the next id and tag, stores, emits; nil when creating the channel would pass a limit.
    private func publishLocked(
        _ name: String, text: [UInt8], eventID: String?, eventType: String?, store: Bool, micros: Int64,
        state: inout State
    ) -> Message? {
        let now = micros / 1_000_000
        let created = state.channels[name] == nil
        guard Self.channel(name, in: &state, configuration: configuration, micros: micros, limits: true) != nil
        else { return nil }
        let isEvents = name == configuration.eventsChannelID
        let keep = store || isEvents
        let configuration = self.configuration
        // Changed in place: a copy taken out of the dictionary would share the backlog's storage,
        // and the append would then copy the whole backlog on every publish.
        state.published += 1
        let order = state.published
        func publish(into channel: inout Channel) -> (Message, hosted: Bool, stored: Int) {
            let previous = (channel.lastTime, channel.lastTag)
            let stamp = StreamPoint.next(
                after: channel.lastID > 0 ? previous : nil, now: now, generation: channel.generation)
            channel.lastID += 1
            (channel.lastTime, channel.lastTag) = stamp
            channel.lastActivity = now
            let message = Message(
                channel: name, id: channel.lastID, time: stamp.time, tag: stamp.tag, eventID: eventID,
                eventType: eventType, text: text, generation: channel.generation, order: order)
            let before = channel.queue.count
            if keep {
                channel.queue.expire(publishedAtOrBefore: now - configuration.messageTTL)
                channel.queue.append(message, previous: previous)
                channel.queue.trim(to: configuration.maxMessagesStoredPerChannel)
            }
            return (message, channel.hosted > 0, channel.queue.count - before)
        }
        let (message, hosted, stored) = publish(into: &state.channels[name]!)
        state.storedMessages += Int64(stored)
        if !isEvents { state.publishedMessages += 1 }
        if hosted { state.sink?.deliver(message) }
        if created { emitEvent("channel_created", channel: name, micros: micros, state: &state) }
        return message
    }

    /// Publishes a push-stream event (§7) into the events channel, if one is configured.
    private func emitEvent(_ type: String, channel: String, user: String? = nil, micros: Int64, state: inout State) {
        guard let events = configuration.eventsChannelID, channel != events else { return }
        let text = EventsChannel.text(type: type, channel: channel, user: user)
        _ = publishLocked(events, text: text, eventID: nil, eventType: type, store: true, micros: micros, state: &state)
    }

    public func recordSubscriberEvent(_ type: String, channel: String, user: String?) {
        let micros = clock()
        state.withLockedValue { emitEvent(type, channel: channel, user: user, micros: micros, state: &$0) }
    }

    // MARK: Presence

    /// One node is the whole cluster: its own subscribers are everyone online.
    public func presence(channel: String, on loop: any EventLoop) -> EventLoopFuture<[String: Int]> {
        loop.makeSucceededFuture(state.withLockedValue { $0.sink }?.localPresence(channel: channel) ?? [:])
    }

    public func presence(user: String, on loop: any EventLoop) -> EventLoopFuture<Int> {
        loop.makeSucceededFuture(state.withLockedValue { $0.sink }?.localPresence(user: user) ?? 0)
    }

    /// Finds or creates a channel; nil when creation would pass a configured limit.
    private static func channel(
        _ name: String, in state: inout State, configuration: Configuration, micros: Int64, limits: Bool
    ) -> Channel? {
        if let existing = state.channels[name] { return existing }
        let now = micros / 1_000_000
        let isWildcard = ChannelPath.isWildcard(name, prefix: configuration.wildcardChannelPrefix)
        if limits {
            if isWildcard, let max = configuration.maxNumberOfWildcardChannels, state.wildcardChannels >= max {
                return nil
            }
            if !isWildcard, let max = configuration.maxNumberOfChannels,
                state.channels.count - state.wildcardChannels >= max
            {
                return nil
            }
        }
        let channel = Channel(
            slot: state.names.count, generation: state.generations.next(nowMicroseconds: micros),
            order: state.nextOrder, lastActivity: now, isWildcard: isWildcard)
        state.nextOrder += 1
        if isWildcard { state.wildcardChannels += 1 }
        state.channels[name] = channel
        state.names.append(name)
        return channel
    }

    // MARK: Deleting and expiring

    public func delete(_ channels: [String], notice: [UInt8], on loop: any EventLoop) -> EventLoopFuture<[String]> {
        let micros = clock()
        let deleted: [String] = state.withLockedValue { state in
            var deleted: [String] = []
            for name in channels where name != configuration.eventsChannelID {
                guard let channel = state.remove(name) else { continue }
                deleted.append(name)
                if channel.hosted > 0 {
                    state.sink?.channelDeleted(name, notice: .channelDeleted(name, text: notice))
                }
                emitEvent("channel_destroyed", channel: name, micros: micros, state: &state)
            }
            return deleted
        }
        return loop.makeSucceededFuture(deleted)
    }

    /// One sweep tick: looks at up to `budget` channels, dropping expired messages and forgetting
    /// channels with nothing stored, no subscriber and no recent activity. A round over every
    /// channel starts at most every ``sweepRound`` seconds and is spread over as many ticks as it
    /// takes. Returns whether the current round is done.
    @discardableResult
    func sweepStep(budget: Int = MemoryEngine.sweepBatch) -> Bool {
        let micros = clock()
        let now = micros / 1_000_000
        return state.withLockedValue { state in
            if state.sweepCursor < 0 {
                guard now >= state.nextSweepRound else { return true }
                state.nextSweepRound = now + Self.sweepRound
                state.sweepCursor = state.names.count - 1
            }
            var looked = 0
            while looked < budget && state.sweepCursor >= 0 {
                let cursor = min(state.sweepCursor, state.names.count - 1)
                state.sweepCursor = cursor - 1
                looked += 1
                guard cursor >= 0 else { break }
                let name = state.names[cursor]
                // One look-up, changed in place: a copy out of the dictionary would copy the backlog too.
                let index = state.channels.index(forKey: name)!
                let before = state.channels.values[index].queue.count
                state.channels.values[index].queue.expire(publishedAtOrBefore: now - configuration.messageTTL)
                if !state.channels.values[index].answered.isEmpty {
                    state.channels.values[index].answered = state.channels.values[index].answered.filter {
                        $0.value.expires > now
                    }
                }
                let channel = state.channels.values[index]
                state.storedMessages -= Int64(before - channel.queue.count)
                if name != configuration.eventsChannelID, channel.queue.isEmpty, channel.hosted == 0,
                    now - channel.lastActivity >= configuration.channelInactivityTime
                {
                    _ = state.remove(name)
                    emitEvent("channel_destroyed", channel: name, micros: micros, state: &state)
                }
            }
            return state.sweepCursor < 0
        }
    }

    /// A whole sweep round at once, whatever the time since the last one (tests).
    func sweep() {
        state.withLockedValue { $0.nextSweepRound = 0 }
        while !sweepStep() {}
    }

    // MARK: Reading

    public func records(_ channels: [String], on loop: any EventLoop) -> EventLoopFuture<[ChannelRecord?]> {
        let now = clock() / 1_000_000
        let records = state.withLockedValue { state in
            channels.map { name in
                state.channels[name].map { Self.record(name, $0, now: now, ttl: configuration.messageTTL) }
            }
        }
        return loop.makeSucceededFuture(records)
    }

    public func records(prefix: String, on loop: any EventLoop) -> EventLoopFuture<[ChannelRecord]> {
        let now = clock() / 1_000_000
        let records = state.withLockedValue { state in
            state.channels.filter { $0.key.hasPrefix(prefix) }
                .sorted { $0.value.order < $1.value.order }
                .map { Self.record($0.key, $0.value, now: now, ttl: configuration.messageTTL) }
        }
        return loop.makeSucceededFuture(records)
    }

    private static func record(_ name: String, _ channel: Channel, now: Int64, ttl: Int64) -> ChannelRecord {
        var queue = channel.queue
        queue.expire(publishedAtOrBefore: now - ttl)
        return ChannelRecord(channel: name, lastID: channel.lastID, storedMessages: queue.count)
    }

    public func create(_ channels: [String], on loop: any EventLoop) -> EventLoopFuture<Void> {
        let micros = clock()
        let now = micros / 1_000_000
        let result: Result<Void, ProtocolError> = state.withLockedValue { state in
            for name in channels {
                let created = state.channels[name] == nil
                guard
                    var channel = Self.channel(
                        name, in: &state, configuration: configuration, micros: micros, limits: true)
                else { return .failure(.channelsLimitExceeded) }
                channel.lastActivity = now
                state.channels[name] = channel
                if created { emitEvent("channel_created", channel: name, micros: micros, state: &state) }
            }
            return .success(())
        }
        return loop.makeCompletedFuture(result.mapError { $0 as any Error })
    }

    public func backlog(_ channel: String, on loop: any EventLoop) -> EventLoopFuture<ChannelBacklog> {
        let now = clock() / 1_000_000
        let backlog = state.withLockedValue { state -> ChannelBacklog in
            guard state.channels[channel] != nil else { return .missing }
            let before = state.channels[channel]!.queue.count
            state.channels[channel]!.queue.expire(publishedAtOrBefore: now - configuration.messageTTL)
            let entry = state.channels[channel]!
            state.storedMessages -= Int64(before - entry.queue.count)
            let last =
                entry.lastID > 0
                ? StreamPoint(id: entry.lastID, generation: entry.generation, time: entry.lastTime, tag: entry.lastTag)
                : .start(of: entry.generation)
            return ChannelBacklog(
                messages: entry.queue.messages, last: last, exists: true, previous: entry.queue.previous)
        }
        return loop.makeSucceededFuture(backlog)
    }

    public func host(_ channel: String, on loop: any EventLoop) -> EventLoopFuture<ChannelBacklog?> {
        let micros = clock()
        let now = micros / 1_000_000
        state.withLockedValue { state in
            guard
                var entry = Self.channel(
                    channel, in: &state, configuration: configuration, micros: micros, limits: false)
            else { return }
            entry.hosted += 1
            entry.lastActivity = now
            state.channels[channel] = entry
        }
        // A read here costs what the subscriber's own read costs: nothing to save.
        return loop.makeSucceededFuture(nil)
    }

    public func release(_ channel: String) {
        let now = clock() / 1_000_000
        state.withLockedValue { state in
            guard var entry = state.channels[channel] else { return }
            // No clamp at 0: hosts and releases decided in order may arrive out of order, and
            // counting keeps the final state right where a clamp would not.
            entry.hosted -= 1
            entry.lastActivity = now
            state.channels[channel] = entry
        }
    }

    public func touch(_ channels: [String]) {
        let now = clock() / 1_000_000
        state.withLockedValue { state in
            // Through the index: the key subscript's `_modify` moves the whole channel out and
            // back, and a coroutine frame that large is allocated on the heap, three per call.
            for name in channels {
                if let index = state.channels.index(forKey: name) { state.channels.values[index].lastActivity = now }
            }
        }
    }

    public func totals(on loop: any EventLoop) -> EventLoopFuture<EngineTotals> {
        let totals = state.withLockedValue { state in
            EngineTotals(
                channels: state.channels.count - state.wildcardChannels,
                wildcardChannels: state.wildcardChannels,
                publishedMessages: state.publishedMessages,
                storedMessages: state.storedMessages)
        }
        return loop.makeSucceededFuture(totals)
    }
}
