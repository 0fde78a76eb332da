import Logging
import NIOConcurrencyHelpers
import NIOCore

/// How a long-lived Redis client or subscriber stands with Redis, as reported to its `onStateChange` hook.
public enum RedisConnectionState: Sendable, Hashable {
    /// A connection is open (and logged in).
    case connected
    /// The connection was lost, or the first attempt failed; the client is reconnecting.
    case disconnected(RedisError)
    /// ``RedisClient/shutdown()`` was called.
    case shutDown
}

/// The long-lived Redis client: one pipelined command connection, reopened whenever Redis goes away.
///
/// While Redis is unreachable, commands fail at once with ``RedisError/notConnected``; nothing is queued.
/// Commands in flight when the connection is lost fail with ``RedisError/connectionClosed`` and are not
/// retried (they may or may not have run). Reconnects back off exponentially with jitter, from
/// ``Settings/reconnectInitialDelay`` to ``Settings/reconnectMaxDelay``.
///
/// All methods may be called from any thread. Futures and the ``onStateChange`` hook complete and run on
/// ``eventLoop``.
public final class RedisClient: Sendable {
    /// Timeouts and reconnect delays.
    public struct Settings: Sendable, Hashable {
        /// How long a TCP connect may take.
        public var connectTimeout: TimeAmount
        /// How long a command may wait for its reply before the connection is considered dead.
        public var commandTimeout: TimeAmount
        /// The delay before the first reconnect attempt (jittered).
        public var reconnectInitialDelay: TimeAmount
        /// The largest delay between reconnect attempts (jittered).
        public var reconnectMaxDelay: TimeAmount
        /// Scripts loaded on every (re)connect before any command is sent, so `EVALSHA`s
        /// pipelined on the connection find them (a `NOSCRIPT` retry would let later commands
        /// overtake the failed ones).
        public var scripts: [RedisScript]

        /// Settings; the defaults suit a Redis on the same network.
        public init(
            connectTimeout: TimeAmount = .seconds(5),
            commandTimeout: TimeAmount = .seconds(5),
            reconnectInitialDelay: TimeAmount = .milliseconds(50),
            reconnectMaxDelay: TimeAmount = .seconds(2),
            scripts: [RedisScript] = []
        ) {
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
            self.reconnectInitialDelay = reconnectInitialDelay
            self.reconnectMaxDelay = reconnectMaxDelay
            self.scripts = scripts
        }
    }

    /// The Redis this client talks to.
    public let url: RedisURL
    /// The settings in force.
    public let settings: Settings
    /// The event loop of the client's connections, futures and hooks.
    public var eventLoop: any EventLoop {
        self.reconnector.eventLoop
    }

    private struct Hook: Sendable {
        var onStateChange: (@Sendable (RedisConnectionState) -> Void)?
        /// Whether `.disconnected` was reported since the last `.connected`, so an outage is reported once.
        var reportedDown = false
    }

    private let reconnector: RedisReconnector
    private let hook: NIOLockedValueBox<Hook>

    /// A client for `url`; it does nothing until ``start()``.
    /// - Parameters:
    ///   - url: Where Redis is, and how to log in.
    ///   - eventLoopGroup: The group to take the client's event loop from.
    ///   - settings: Timeouts and reconnect delays.
    ///   - logger: Where the client logs (info and lower; metadata `redis.address`, `redis.error`, …).
    public init(url: RedisURL, eventLoopGroup: any EventLoopGroup, settings: Settings = Settings(), logger: Logger) {
        self.url = url
        self.settings = settings
        self.hook = NIOLockedValueBox(Hook())
        self.reconnector = RedisReconnector(
            url: url,
            eventLoop: eventLoopGroup.next(),
            connectTimeout: settings.connectTimeout,
            commandTimeout: settings.commandTimeout,
            reconnectInitialDelay: settings.reconnectInitialDelay,
            reconnectMaxDelay: settings.reconnectMaxDelay,
            scripts: settings.scripts,
            logger: logger
        )
        self.reconnector.setCallbacks(
            RedisReconnector.Callbacks(
                connected: { [weak self] _ in self?.report(.connected) },
                disconnected: { [weak self] error, _ in self?.report(.disconnected(error)) }
            )
        )
    }

    /// Called on ``eventLoop`` when the client connects, when it loses its connection or its first attempt
    /// fails (once per outage, not per retry), and when it shuts down.
    ///
    /// Set it before ``start()`` to see the first outcome.
    public var onStateChange: (@Sendable (RedisConnectionState) -> Void)? {
        get { self.hook.withLockedValue { $0.onStateChange } }
        set { self.hook.withLockedValue { $0.onStateChange = newValue } }
    }

    /// Whether a connection is open now.
    public var isConnected: Bool {
        self.reconnector.connection != nil
    }

    /// Starts connecting. The future reports the first attempt (a server can refuse to start when Redis
    /// is unreachable); whatever it reports, the client keeps reconnecting in the background until
    /// ``shutdown()``.
    @discardableResult
    public func start() -> EventLoopFuture<Void> {
        self.reconnector.start()
    }

    /// Stops reconnecting and closes the connection; commands in flight fail. Later commands fail with
    /// ``RedisError/shutDown``.
    @discardableResult
    public func shutdown() -> EventLoopFuture<Void> {
        let (closed, first) = self.reconnector.shutdown()
        if first {
            self.eventLoop.execute {
                self.report(.shutDown)
            }
        }
        return closed
    }

    private func report(_ state: RedisConnectionState) {
        let hook = self.hook.withLockedValue { hook -> (@Sendable (RedisConnectionState) -> Void)? in
            switch state {
            case .connected:
                hook.reportedDown = false
            case .disconnected:
                if hook.reportedDown {
                    return nil
                }
                hook.reportedDown = true
            case .shutDown:
                break
            }
            return hook.onStateChange
        }
        hook?(state)
    }
}

extension RedisClient: RedisCommandExecutor {
    /// Sends one command on the current connection; fails at once with ``RedisError/notConnected`` while
    /// reconnecting.
    public func send(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue> {
        guard let connection = self.reconnector.connection else {
            return self.eventLoop.makeFailedFuture(self.reconnector.unavailableError)
        }
        return connection.send(arguments)
    }

    /// Sends several commands in one write on the current connection; error replies appear as values.
    /// Fails at once with ``RedisError/notConnected`` while reconnecting.
    public func send(batch commands: [[RedisArgument]]) -> EventLoopFuture<[RESPValue]> {
        guard let connection = self.reconnector.connection else {
            return self.eventLoop.makeFailedFuture(self.reconnector.unavailableError)
        }
        return connection.send(batch: commands)
    }
}
