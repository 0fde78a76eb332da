import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Keeps one connection to Redis open: connects, and after a loss or a failed attempt, retries with backoff.
///
/// Shared by ``RedisClient`` and ``RedisSubscriber``. Its callbacks run on its event loop, in order:
/// `connected` once per established connection, `disconnected` once per lost connection or failed attempt.
final class RedisReconnector: Sendable {
    /// What the owner is told; both run on the event loop.
    struct Callbacks: Sendable {
        /// A connection is established (the owner may prepare it before anyone else uses it).
        var connected: @Sendable (RedisConnection) -> Void
        /// A connection was lost (`wasConnected`) or an attempt failed; a retry is scheduled.
        var disconnected: @Sendable (_ error: RedisError, _ wasConnected: Bool) -> Void
    }

    private enum Phase: Sendable {
        case idle
        case connecting
        case connected(RedisConnection)
        case waiting(Scheduled<Void>)
        case shutDown
    }

    private struct State: Sendable {
        var phase: Phase = .idle
        var backoff: ReconnectBackoff
        var failuresInARow = 0
        var firstAttempt: EventLoopPromise<Void>?
        var callbacks: Callbacks?
    }

    let url: RedisURL
    let eventLoop: any EventLoop
    private let connectTimeout: TimeAmount
    private let commandTimeout: TimeAmount
    private let scripts: [RedisScript]
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    init(
        url: RedisURL,
        eventLoop: any EventLoop,
        connectTimeout: TimeAmount,
        commandTimeout: TimeAmount,
        reconnectInitialDelay: TimeAmount,
        reconnectMaxDelay: TimeAmount,
        scripts: [RedisScript] = [],
        logger: Logger
    ) {
        self.url = url
        self.scripts = scripts
        self.eventLoop = eventLoop
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        var logger = logger
        logger[metadataKey: "redis.address"] = "\(url.address)"
        self.logger = logger
        self.state = NIOLockedValueBox(
            State(backoff: ReconnectBackoff(initial: reconnectInitialDelay, maximum: reconnectMaxDelay))
        )
    }

    /// Sets the callbacks; call before ``start()``.
    func setCallbacks(_ callbacks: Callbacks) {
        self.state.withLockedValue { $0.callbacks = callbacks }
    }

    /// The open connection, or `nil` while reconnecting or shut down.
    var connection: RedisConnection? {
        self.state.withLockedValue { state in
            if case .connected(let connection) = state.phase {
                return connection
            }
            return nil
        }
    }

    /// The error for a command that cannot be sent now: ``RedisError/notConnected`` or ``RedisError/shutDown``.
    var unavailableError: RedisError {
        let isShutDown = self.state.withLockedValue { state in
            if case .shutDown = state.phase {
                return true
            }
            return false
        }
        return (isShutDown ? RedisError.shutDown : RedisError.notConnected).at(self.url.address)
    }

    /// Makes the first attempt; the future tells how it went. Retries go on in the background either way.
    func start() -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        enum Start {
            case connect
            case done(Result<Void, RedisError>)
            case follow(EventLoopFuture<Void>)
        }
        let start = self.state.withLockedValue { state -> Start in
            switch state.phase {
            case .idle:
                state.phase = .connecting
                state.firstAttempt = promise
                return .connect
            case .connected:
                return .done(.success(()))
            case .shutDown:
                return .done(.failure(RedisError.shutDown.at(self.url.address)))
            case .connecting, .waiting:
                if let first = state.firstAttempt {
                    return .follow(first.futureResult)
                }
                return .done(.failure(RedisError.notConnected.at(self.url.address)))
            }
        }
        switch start {
        case .connect:
            self.logger.debug("redis connecting")
            self.connect()
        case .done(let result):
            promise.completeWith(result.mapError { $0 })
        case .follow(let future):
            promise.completeWith(future)
        }
        return promise.futureResult
    }

    /// Stops reconnecting and closes the connection. Idempotent.
    /// - Returns: When the connection has closed, and whether this call was the one that shut down.
    func shutdown() -> (closed: EventLoopFuture<Void>, first: Bool) {
        let (connection, scheduled, firstAttempt, first) = self.state.withLockedValue {
            state -> (RedisConnection?, Scheduled<Void>?, EventLoopPromise<Void>?, Bool) in
            let previous = state.phase
            state.phase = .shutDown
            let firstAttempt = state.firstAttempt
            state.firstAttempt = nil
            switch previous {
            case .connected(let connection):
                return (connection, nil, firstAttempt, true)
            case .waiting(let scheduled):
                return (nil, scheduled, firstAttempt, true)
            case .idle, .connecting:
                return (nil, nil, firstAttempt, true)
            case .shutDown:
                return (nil, nil, firstAttempt, false)
            }
        }
        scheduled?.cancel()
        firstAttempt?.fail(RedisError.shutDown.at(self.url.address))
        guard let connection else {
            return (self.eventLoop.makeSucceededVoidFuture(), first)
        }
        self.logger.debug("redis connection closing (shutdown)")
        return (connection.close().hop(to: self.eventLoop), first)
    }

    private func connect() {
        RedisConnection.connect(
            to: self.url,
            on: self.eventLoop,
            connectTimeout: self.connectTimeout,
            commandTimeout: self.commandTimeout,
            scripts: self.scripts,
            logger: self.logger
        ).hop(to: self.eventLoop).whenComplete { result in
            switch result {
            case .success(let connection):
                self.connected(connection)
            case .failure(let error):
                self.attemptFailed(
                    (error as? RedisError) ?? RedisConnection.connectError(error, address: self.url.address)
                )
            }
        }
    }

    private func connected(_ connection: RedisConnection) {
        let outcome = self.state.withLockedValue { state -> (EventLoopPromise<Void>?, Callbacks?)? in
            guard case .connecting = state.phase else { return nil }
            state.phase = .connected(connection)
            state.backoff.reset()
            state.failuresInARow = 0
            let firstAttempt = state.firstAttempt
            state.firstAttempt = nil
            return (firstAttempt, state.callbacks)
        }
        guard let (firstAttempt, callbacks) = outcome else {
            connection.close()  // shut down while connecting
            return
        }
        self.logger.info("redis connected")
        if firstAttempt == nil { RedisMetrics().reconnects.increment() }
        connection.closeFuture.hop(to: self.eventLoop).whenComplete { _ in
            self.connectionClosed(connection)
        }
        callbacks?.connected(connection)
        firstAttempt?.succeed()
    }

    private func connectionClosed(_ connection: RedisConnection) {
        let outcome = self.state.withLockedValue { state -> (TimeAmount, Callbacks?)? in
            guard case .connected(let current) = state.phase, current === connection else { return nil }
            return (self.scheduleRetry(&state), state.callbacks)
        }
        guard let (delay, callbacks) = outcome else { return }
        self.logger.info(
            "redis connection lost; reconnecting",
            metadata: ["redis.reconnect.delay_ms": "\(delay.nanoseconds / 1_000_000)"]
        )
        callbacks?.disconnected(RedisError.connectionClosed.at(self.url.address), true)
    }

    private func attemptFailed(_ error: RedisError) {
        let outcome = self.state.withLockedValue { state -> (TimeAmount, Int, EventLoopPromise<Void>?, Callbacks?)? in
            guard case .connecting = state.phase else { return nil }
            state.failuresInARow += 1
            let firstAttempt = state.firstAttempt
            state.firstAttempt = nil
            return (self.scheduleRetry(&state), state.failuresInARow, firstAttempt, state.callbacks)
        }
        guard let (delay, failures, firstAttempt, callbacks) = outcome else { return }
        let metadata: Logger.Metadata = [
            "redis.error": "\(error)",
            "redis.reconnect.attempt": "\(failures)",
            "redis.reconnect.delay_ms": "\(delay.nanoseconds / 1_000_000)",
        ]
        if failures == 1 {
            self.logger.info("redis connect failed; retrying", metadata: metadata)
        } else {
            self.logger.debug("redis connect failed; retrying", metadata: metadata)
        }
        callbacks?.disconnected(error, false)
        firstAttempt?.fail(error)
    }

    /// Schedules the next attempt (with the lock held) and returns its delay.
    private func scheduleRetry(_ state: inout State) -> TimeAmount {
        let delay = state.backoff.next()
        let scheduled = self.eventLoop.scheduleTask(in: delay) {
            self.retry()
        }
        state.phase = .waiting(scheduled)
        return delay
    }

    private func retry() {
        let proceed = self.state.withLockedValue { state -> Bool in
            guard case .waiting = state.phase else { return false }
            state.phase = .connecting
            return true
        }
        if proceed {
            self.connect()
        }
    }
}
