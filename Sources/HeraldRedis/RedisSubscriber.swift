import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The dedicated pub/sub connection: keeps Redis subscribed to a *desired* set of channels, across reconnects.
///
/// - Subscribing: ``subscribe(_:)`` adds channels to the desired set; its future succeeds once Redis has
///   confirmed every one of them, so a caller can then read a backlog knowing later publishes reach it.
/// - Batching: calls made within the same event-loop tick go out as one write, one `SUBSCRIBE` (and one
///   `UNSUBSCRIBE`) with many channels (at most ``Settings/maxChannelsPerCommand`` per command).
/// - Races: subscribe and unsubscribe of the same name, in any order and timing, leave Redis in the state of
///   the last call. Reference counting is the caller's job: one ``unsubscribe(_:)`` removes a channel.
/// - Messages: delivered to the handler given at creation, on ``eventLoop``, in the order Redis sent them;
///   only for channels in the desired set.
/// - Connection loss: ``onDisconnect`` runs, then the subscriber reconnects with backoff and jitter,
///   subscribes the whole desired set again, and calls ``onResubscribed`` once Redis has confirmed it all:
///   the place to repair messages missed while disconnected. An idle connection is checked with `PING`
///   every ``Settings/pingInterval``.
///
/// All methods may be called from any thread; futures and hooks complete and run on ``eventLoop``.
public final class RedisSubscriber: Sendable {
    /// Timeouts, reconnect delays, liveness checks and command names.
    public struct Settings: Sendable, Hashable {
        /// How long a TCP connect may take.
        public var connectTimeout: TimeAmount
        /// How long a command or subscription change may wait for Redis before the connection is dropped.
        public var commandTimeout: TimeAmount
        /// The delay before the first reconnect attempt (jittered).
        public var reconnectInitialDelay: TimeAmount
        /// The largest delay between reconnect attempts (jittered).
        public var reconnectMaxDelay: TimeAmount
        /// How often the connection is checked with `PING` (a silent, dead connection would lose messages).
        public var pingInterval: TimeAmount
        /// The most channels named in one `SUBSCRIBE` or `UNSUBSCRIBE` command.
        public var maxChannelsPerCommand: Int
        /// The pub/sub command names: ``RedisPubSubCommands/standard`` or ``RedisPubSubCommands/sharded``.
        public var commands: RedisPubSubCommands

        /// Settings; the defaults suit a Redis on the same network.
        public init(
            connectTimeout: TimeAmount = .seconds(5),
            commandTimeout: TimeAmount = .seconds(5),
            reconnectInitialDelay: TimeAmount = .milliseconds(50),
            reconnectMaxDelay: TimeAmount = .seconds(2),
            pingInterval: TimeAmount = .seconds(5),
            maxChannelsPerCommand: Int = 1000,
            commands: RedisPubSubCommands = .standard
        ) {
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
            self.reconnectInitialDelay = reconnectInitialDelay
            self.reconnectMaxDelay = reconnectMaxDelay
            self.pingInterval = pingInterval
            self.maxChannelsPerCommand = max(1, maxChannelsPerCommand)
            self.commands = commands
        }
    }

    /// Receives a message: the channel it was published to, and its payload.
    public typealias MessageHandler = @Sendable (_ channel: String, _ payload: ByteBuffer) -> Void

    /// One ``subscribe(_:)`` call waiting for its confirmations. Lives on the event loop only.
    private final class Waiter {
        var remaining: Int
        let promise: EventLoopPromise<Void>
        var done = false

        init(remaining: Int, promise: EventLoopPromise<Void>) {
            self.remaining = remaining
            self.promise = promise
        }
    }

    /// Everything the subscriber knows, confined to its event loop.
    private struct State {
        /// The channels the owner wants.
        var desired: Set<String> = []
        /// The channels last asked of the current connection (after the writes made so far).
        var requested: Set<String> = []
        /// The channels Redis confirmed on the current connection.
        var active: Set<String> = []
        /// Subscribe/unsubscribe requests per channel that Redis has not confirmed yet.
        var inflight: [String: Int] = [:]
        /// Channels whose desired state changed since the last flush.
        var changed: Set<String> = []
        var waiters: [String: [Waiter]] = [:]
        var flushScheduled = false
        /// The connection, once in pub/sub mode.
        var connection: RedisConnection?
        var lastWrite: EventLoopFuture<Void>?
        var ping: RepeatedTask?
        var isShutDown = false
    }

    private struct Hooks: Sendable {
        var onResubscribed: (@Sendable () -> Void)?
        var onDisconnect: (@Sendable (RedisError) -> Void)?
        var onDropped: (@Sendable (String) -> Void)?
    }

    /// The Redis this subscriber listens to.
    public let url: RedisURL
    /// The settings in force.
    public let settings: Settings
    /// The event loop of the connection, the message handler, futures and hooks.
    public var eventLoop: any EventLoop {
        self.reconnector.eventLoop
    }

    private let reconnector: RedisReconnector
    private let onMessage: MessageHandler
    private let state: NIOLoopBoundBox<State>
    private let hooks: NIOLockedValueBox<Hooks>
    private let logger: Logger

    /// A subscriber for `url`; it does nothing until ``start()``.
    /// - Parameters:
    ///   - url: Where Redis is, and how to log in.
    ///   - eventLoopGroup: The group to take the subscriber's event loop from.
    ///   - settings: Timeouts, reconnect delays, liveness checks and command names.
    ///   - logger: Where the subscriber logs (info and lower).
    ///   - onMessage: Called on ``eventLoop`` for each message, in Redis's order. Keep it short: it runs on
    ///     the connection's event loop, and Redis's output buffer for this client grows while it is slow.
    public init(
        url: RedisURL,
        eventLoopGroup: any EventLoopGroup,
        settings: Settings = Settings(),
        logger: Logger,
        onMessage: @escaping MessageHandler
    ) {
        self.url = url
        self.settings = settings
        self.onMessage = onMessage
        var logger = logger
        logger[metadataKey: "redis.address"] = "\(url.address)"
        self.logger = logger
        let eventLoop = eventLoopGroup.next()
        self.reconnector = RedisReconnector(
            url: url,
            eventLoop: eventLoop,
            connectTimeout: settings.connectTimeout,
            commandTimeout: settings.commandTimeout,
            reconnectInitialDelay: settings.reconnectInitialDelay,
            reconnectMaxDelay: settings.reconnectMaxDelay,
            logger: logger
        )
        self.state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: eventLoop)
        self.hooks = NIOLockedValueBox(Hooks())
        self.reconnector.setCallbacks(
            RedisReconnector.Callbacks(
                connected: { [weak self] connection in self?.connected(connection) },
                disconnected: { [weak self] error, wasConnected in
                    self?.disconnected(error, wasConnected: wasConnected)
                }
            )
        )
    }

    /// Called on ``eventLoop`` after each connection, the first included, once Redis has confirmed the whole
    /// desired set: fetch from the backlog what may have been published while disconnected.
    public var onResubscribed: (@Sendable () -> Void)? {
        get { self.hooks.withLockedValue { $0.onResubscribed } }
        set { self.hooks.withLockedValue { $0.onResubscribed = newValue } }
    }

    /// Called on ``eventLoop`` when an established connection is lost (not for failed reconnect attempts).
    public var onDisconnect: (@Sendable (RedisError) -> Void)? {
        get { self.hooks.withLockedValue { $0.onDisconnect } }
        set { self.hooks.withLockedValue { $0.onDisconnect = newValue } }
    }

    /// Called on ``eventLoop`` when Redis unsubscribed a channel it was not asked to, which is still
    /// wanted: a Redis Cluster master does so for the sharded channels of a slot it no longer
    /// serves. This subscriber lets the channel go; the owner subscribes it on the slot's new
    /// master.
    public var onDropped: (@Sendable (String) -> Void)? {
        get { self.hooks.withLockedValue { $0.onDropped } }
        set { self.hooks.withLockedValue { $0.onDropped = newValue } }
    }

    /// Whether the pub/sub connection is open now.
    public var isConnected: Bool {
        self.reconnector.connection != nil
    }

    /// Starts connecting. The future reports the first attempt; whatever it reports, the subscriber keeps
    /// reconnecting in the background until ``shutdown()``. Subscribe once it has succeeded.
    @discardableResult
    public func start() -> EventLoopFuture<Void> {
        self.reconnector.start()
    }

    /// Stops reconnecting and closes the connection; pending ``subscribe(_:)`` futures fail with
    /// ``RedisError/shutDown``.
    @discardableResult
    public func shutdown() -> EventLoopFuture<Void> {
        let (closed, _) = self.reconnector.shutdown()
        return self.eventLoop.flatSubmit {
            let failed = self.state.withValue { state -> [Waiter] in
                state.isShutDown = true
                return self.reset(&state)
            }
            Self.fail(failed, with: RedisError.shutDown.at(self.url.address))
            return closed
        }
    }

    /// Drops the current connection as if it had failed: the subscriber connects again, subscribes
    /// its whole set and calls ``onResubscribed``. For a connection that is up yet delivers
    /// nothing (what a delivery probe finds).
    public func reconnect() {
        self.eventLoop.execute {
            _ = self.state.value.connection?.close()
        }
    }

    /// Adds channels to the desired set; the future succeeds when Redis has confirmed every one of them.
    ///
    /// Channels already confirmed count at once. While disconnected the future fails at once with
    /// ``RedisError/notConnected``, and a connection lost before confirmation fails it with
    /// ``RedisError/connectionClosed``; in both cases the channels stay desired, are subscribed after
    /// reconnecting, and ``onResubscribed`` follows. If a channel is unsubscribed before Redis confirmed it,
    /// the future fails with ``RedisError/subscriptionWithdrawn``.
    public func subscribe(_ channels: [String]) -> EventLoopFuture<Void> {
        if self.eventLoop.inEventLoop {
            return self.subscribeOnLoop(channels)
        }
        return self.eventLoop.flatSubmit {
            self.subscribeOnLoop(channels)
        }
    }

    /// Removes channels from the desired set; Redis is told in the next batch.
    ///
    /// A pending ``subscribe(_:)`` of one of them fails with ``RedisError/subscriptionWithdrawn``.
    public func unsubscribe(_ channels: [String]) {
        if self.eventLoop.inEventLoop {
            self.unsubscribeOnLoop(channels)
        } else {
            self.eventLoop.execute {
                self.unsubscribeOnLoop(channels)
            }
        }
    }

    /// Completes when Redis has confirmed every change asked so far (flushing the current batch now).
    func settle() -> EventLoopFuture<Void> {
        self.eventLoop.flatSubmit {
            self.flush()
            return self.state.value.lastWrite ?? self.eventLoop.makeSucceededVoidFuture()
        }
    }

    private func subscribeOnLoop(_ channels: [String]) -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        enum Outcome {
            case waiting
            case confirmed
            case failed(RedisError)
        }
        let outcome = self.state.withValue { state -> Outcome in
            if state.isShutDown {
                return .failed(RedisError.shutDown.at(self.url.address))
            }
            // A node hosting a new channel subscribes to that one alone: no set to remove
            // repeats from, nor a list of the unconfirmed, is made for it.
            let unique = channels.count == 1 ? channels : Array(Set(channels))
            var unconfirmed = 0
            for channel in unique {
                if state.desired.insert(channel).inserted {
                    state.changed.insert(channel)
                }
                if Self.awaitsConfirmation(channel, in: state) { unconfirmed += 1 }
            }
            guard state.connection != nil else {
                return .failed(self.reconnector.unavailableError)
            }
            if !state.changed.isEmpty {
                self.scheduleFlush(&state)
            }
            guard unconfirmed > 0 else {
                return .confirmed
            }
            let waiter = Waiter(remaining: unconfirmed, promise: promise)
            for channel in unique where Self.awaitsConfirmation(channel, in: state) {
                state.waiters[channel, default: []].append(waiter)
            }
            return .waiting
        }
        switch outcome {
        case .waiting:
            break
        case .confirmed:
            promise.succeed()
        case .failed(let error):
            promise.fail(error)
        }
        return promise.futureResult
    }

    /// Whether Redis has yet to confirm `channel` on the current connection.
    private static func awaitsConfirmation(_ channel: String, in state: State) -> Bool {
        !state.active.contains(channel) || state.inflight[channel, default: 0] > 0
    }

    private func unsubscribeOnLoop(_ channels: [String]) {
        let withdrawn = self.state.withValue { state -> [Waiter] in
            var withdrawn: [Waiter] = []
            for channel in channels where state.desired.remove(channel) != nil {
                state.changed.insert(channel)
                if let waiters = state.waiters.removeValue(forKey: channel) {
                    withdrawn += waiters
                }
            }
            if state.connection != nil && !state.changed.isEmpty {
                self.scheduleFlush(&state)
            }
            return withdrawn
        }
        Self.fail(withdrawn, with: RedisError.subscriptionWithdrawn.at(self.url.address))
    }

    private func scheduleFlush(_ state: inout State) {
        guard !state.flushScheduled else { return }
        state.flushScheduled = true
        self.eventLoop.execute {
            self.flush()
        }
    }

    /// Sends the changes gathered since the last flush: one write, one SUBSCRIBE and one UNSUBSCRIBE per chunk.
    private func flush() {
        let work = self.state.withValue { state -> (RedisConnection, ByteBuffer, Int)? in
            state.flushScheduled = false
            guard let connection = state.connection, !state.changed.isEmpty else {
                state.changed.removeAll()
                return nil
            }
            var toSubscribe: [String] = []
            var toUnsubscribe: [String] = []
            for channel in state.changed {
                let wanted = state.desired.contains(channel)
                let requested = state.requested.contains(channel)
                if wanted && !requested {
                    toSubscribe.append(channel)
                    state.requested.insert(channel)
                } else if !wanted && requested {
                    toUnsubscribe.append(channel)
                    state.requested.remove(channel)
                }
            }
            state.changed.removeAll(keepingCapacity: true)
            guard !toSubscribe.isEmpty || !toUnsubscribe.isEmpty else { return nil }
            for channel in toSubscribe {
                state.inflight[channel, default: 0] += 1
            }
            for channel in toUnsubscribe {
                state.inflight[channel, default: 0] += 1
            }
            var buffer = connection.channel.allocator.buffer(capacity: 64)
            self.encode(self.settings.commands.subscribe, toSubscribe, into: &buffer)
            self.encode(self.settings.commands.unsubscribe, toUnsubscribe, into: &buffer)
            self.logger.debug(
                "redis subscription changes",
                metadata: [
                    "redis.subscribe.count": "\(toSubscribe.count)",
                    "redis.unsubscribe.count": "\(toUnsubscribe.count)",
                ]
            )
            return (connection, buffer, toSubscribe.count + toUnsubscribe.count)
        }
        guard let (connection, buffer, confirmations) = work else { return }
        // Written outside the state access: a write can close the channel, whose callbacks change the state.
        self.sent(connection.sendSubscriptionCommands(buffer, confirmations: confirmations), on: connection)
    }

    /// Remembers the latest subscription write, unless its connection is already gone.
    private func sent(_ write: EventLoopFuture<Void>, on connection: RedisConnection) {
        self.state.withValue { state in
            if state.connection === connection {
                state.lastWrite = write
            }
        }
    }

    private func encode(_ command: String, _ channels: [String], into buffer: inout ByteBuffer) {
        // Sharded pub/sub takes only channels of one slot per command (else CROSSSLOT): one
        // command per slot, in the order the slots first appear.
        if self.settings.commands.subscribe == RedisPubSubCommands.sharded.subscribe, channels.count > 1 {
            var bySlot: [Int: [String]] = [:]
            var order: [Int] = []
            for channel in channels {
                let slot = RedisClusterSlots.slot(of: channel)
                if bySlot[slot] == nil { order.append(slot) }
                bySlot[slot, default: []].append(channel)
            }
            if order.count > 1 {
                for slot in order { encodeChunks(command, bySlot[slot]!, into: &buffer) }
                return
            }
        }
        encodeChunks(command, channels, into: &buffer)
    }

    private func encodeChunks(_ command: String, _ channels: [String], into buffer: inout ByteBuffer) {
        var start = 0
        while start < channels.count {
            let end = min(start + max(1, self.settings.maxChannelsPerCommand), channels.count)
            var arguments = [RedisArgument(command)]
            arguments.reserveCapacity(end - start + 1)
            for channel in channels[start..<end] {
                arguments.append(RedisArgument(channel))
            }
            RedisCommandEncoder.encode(arguments, into: &buffer)
            start = end
        }
    }

    /// A new connection: switch it to pub/sub, subscribe the whole desired set, then report.
    private func connected(_ connection: RedisConnection) {
        do {
            try connection.enterPubSubMode(self.settings.commands) { [weak self] event in
                self?.handle(event, from: connection)
            }
        } catch {
            self.logger.info("redis pub/sub connection unusable", metadata: ["redis.error": "\(error)"])
            connection.close()
            return
        }
        let work = self.state.withValue { state -> (ByteBuffer, Int)? in
            state.connection = connection
            state.requested = state.desired
            state.active = []
            state.inflight = [:]
            state.changed = []
            state.lastWrite = nil
            guard !state.desired.isEmpty else { return nil }
            let channels = Array(state.desired)
            for channel in channels {
                state.inflight[channel] = 1
            }
            var buffer = connection.channel.allocator.buffer(capacity: 64)
            self.encode(self.settings.commands.subscribe, channels, into: &buffer)
            return (buffer, channels.count)
        }
        let resubscribed: EventLoopFuture<Void>
        if let (buffer, count) = work {
            resubscribed = connection.sendSubscriptionCommands(buffer, confirmations: count)
            self.sent(resubscribed, on: connection)
        } else {
            resubscribed = self.eventLoop.makeSucceededVoidFuture()
        }
        let interval = self.settings.pingInterval
        let ping = self.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            // A reply that does not come in time closes the connection (see the command timeout).
            _ = connection.send(["PING"])
        }
        self.state.withValue { state in
            if state.connection === connection {
                state.ping = ping
            } else {
                ping.cancel()
            }
        }
        resubscribed.whenSuccess {
            let count = self.state.value.desired.count
            self.logger.info("redis subscriptions restored", metadata: ["redis.channels": "\(count)"])
            self.hooks.withLockedValue { $0.onResubscribed }?()
        }
    }

    private func disconnected(_ error: RedisError, wasConnected: Bool) {
        guard wasConnected else { return }
        let failed = self.state.withValue { self.reset(&$0) }
        Self.fail(failed, with: RedisError.connectionClosed.at(self.url.address))
        self.hooks.withLockedValue { $0.onDisconnect }?(error)
    }

    /// Forgets the connection's state (the desired set stays) and returns the waiters to fail.
    private func reset(_ state: inout State) -> [Waiter] {
        state.connection = nil
        state.requested = []
        state.active = []
        state.inflight = [:]
        state.changed = []
        state.lastWrite = nil
        state.ping?.cancel()
        state.ping = nil
        let waiters = state.waiters.values.flatMap { $0 }
        state.waiters = [:]
        return waiters
    }

    private func handle(_ event: PubSubEvent, from connection: RedisConnection) {
        switch event {
        case .message(let channel, let payload):
            let deliver = self.state.withValue { state in
                state.connection === connection && state.desired.contains(channel)
            }
            if deliver {
                self.onMessage(channel, payload)
            }
        case .subscribed(let channel):
            self.confirmed(channel, subscribed: true, from: connection)
        case .unsubscribed(let channel):
            self.confirmed(channel, subscribed: false, from: connection)
        }
    }

    private func confirmed(_ channel: String, subscribed: Bool, from connection: RedisConnection) {
        let dropped = self.state.withValue { state in
            state.connection === connection && !subscribed && state.inflight[channel] == nil
                && state.desired.contains(channel)
        }
        if dropped {
            // Not asked of this connection again (the master would answer MOVED); the owner
            // subscribes it where its slot went.
            self.state.withValue { state in
                state.active.remove(channel)
                state.requested.remove(channel)
                state.desired.remove(channel)
            }
            self.hooks.withLockedValue { $0.onDropped }?(channel)
            return
        }
        let completed = self.state.withValue { state -> [Waiter] in
            guard state.connection === connection else { return [] }
            let remaining = state.inflight[channel, default: 1] - 1
            if remaining > 0 {
                state.inflight[channel] = remaining
            } else {
                state.inflight.removeValue(forKey: channel)
            }
            if subscribed {
                // The name from Redis's reply is a fresh copy; keep the one already held, so a
                // long name's storage is shared by every set instead of held once more per channel.
                let held = state.requested.firstIndex(of: channel).map { state.requested[$0] }
                state.active.insert(held ?? channel)
            } else {
                state.active.remove(channel)
            }
            guard remaining <= 0, subscribed, let waiters = state.waiters.removeValue(forKey: channel) else {
                return []
            }
            var completed: [Waiter] = []
            for waiter in waiters where !waiter.done {
                waiter.remaining -= 1
                if waiter.remaining == 0 {
                    waiter.done = true
                    completed.append(waiter)
                }
            }
            return completed
        }
        for waiter in completed {
            waiter.promise.succeed()
        }
    }

    private static func fail(_ waiters: [Waiter], with error: RedisError) {
        for waiter in waiters where !waiter.done {
            waiter.done = true
            waiter.promise.fail(error)
        }
    }
}
