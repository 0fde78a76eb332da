import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One TCP connection to Redis, pipelined: every command is written at once and replies are matched in order.
///
/// All methods may be called from any thread; futures complete on ``eventLoop``. A command that gets no
/// reply within the command timeout fails with ``RedisError/timeout``, and so does every other outstanding
/// command, and the connection closes. When the connection closes for any reason, outstanding commands
/// fail with ``RedisError/connectionClosed`` (they may or may not have run). A connection never reconnects:
/// ``RedisClient`` does that.
public final class RedisConnection: Sendable {
    /// The URL this connection was made from.
    public let url: RedisURL
    let channel: any Channel
    let logger: Logger

    /// The event loop the connection's I/O and future callbacks run on.
    public var eventLoop: any EventLoop {
        self.channel.eventLoop
    }

    /// Completes when the connection has closed, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> {
        self.channel.closeFuture
    }

    /// Whether the connection is open.
    public var isActive: Bool {
        self.channel.isActive
    }

    private init(channel: any Channel, url: RedisURL, logger: Logger) {
        self.channel = channel
        self.url = url
        self.logger = logger
    }

    /// Connects to Redis, then logs in and selects the database when the URL asks (`AUTH`, `SELECT`).
    ///
    /// The connection is ready when the future succeeds: Redis has answered a `PING` after the login.
    /// - Parameters:
    ///   - url: Where Redis is, and the credentials and database to use.
    ///   - group: The event loop group; the connection stays on one of its loops.
    ///   - connectTimeout: How long the TCP connect may take.
    ///   - commandTimeout: How long any command (the login included) may wait for its reply.
    ///   - scripts: Loaded (`SCRIPT LOAD`) before the connection is handed out, so commands
    ///     pipelined on it never meet `NOSCRIPT` (whose retries could let later commands overtake
    ///     earlier ones).
    ///   - logger: Where the connection logs (debug and info only).
    /// - Returns: The connection, or a ``RedisError`` such as "redis at 127.0.0.1:6390: connection refused".
    public static func connect(
        to url: RedisURL,
        on group: any EventLoopGroup,
        connectTimeout: TimeAmount = .seconds(5),
        commandTimeout: TimeAmount = .seconds(5),
        scripts: [RedisScript] = [],
        logger: Logger
    ) -> EventLoopFuture<RedisConnection> {
        let eventLoop = group.next()
        let address = url.address
        var addressLogger = logger
        addressLogger[metadataKey: "redis.address"] = "\(address)"
        let logger = addressLogger
        guard let bootstrap = ClientBootstrap(validatingGroup: eventLoop) else {
            return eventLoop.makeFailedFuture(
                RedisError.connectFailed("the event loop group is not a SwiftNIO POSIX group").at(address)
            )
        }
        let channel =
            bootstrap
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = RedisChannelHandler(
                        commandTimeout: commandTimeout,
                        address: address,
                        logger: logger
                    )
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: url.host, port: url.port)
            .flatMapErrorThrowing { error -> any Channel in
                throw Self.connectError(error, address: address)
            }
        return channel.flatMap { channel in
            let connection = RedisConnection(channel: channel, url: url, logger: logger)
            return connection.handshake(scripts: scripts)
                .map {
                    logger.debug("redis connected", metadata: ["redis.database": "\(url.database)"])
                    return connection
                }
                .flatMapError { error in
                    connection.close().flatMapThrowing { throw error }
                }
        }
    }

    /// Sends one command; the future gets its reply.
    ///
    /// Commands sent one after another are pipelined: written at once, answered in order.
    /// - Returns: The reply; an error reply fails the future with ``RedisError/server(_:)``.
    public func send(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue> {
        guard !arguments.isEmpty else {
            return self.eventLoop.makeFailedFuture(RedisError.invalidCommand("a command needs at least one argument"))
        }
        let promise = self.eventLoop.makePromise(of: RESPValue.self)
        var buffer = self.channel.allocator.buffer(capacity: RedisCommandEncoder.estimatedSize(arguments))
        RedisCommandEncoder.encode(arguments, into: &buffer)
        self.write(RedisRequest(bytes: buffer, response: .single(promise)))
        return promise.futureResult
    }

    /// Sends several commands in one write; the future gets one reply per command, in order.
    ///
    /// Error replies appear as ``RESPValue/error(_:)`` values in the array rather than failing the batch.
    /// The batch as a whole fails only if the connection fails (closed, timed out) before every reply arrived.
    /// It is not a transaction: other commands sent on this connection may not interleave, but other clients'
    /// commands may.
    public func send(batch commands: [[RedisArgument]]) -> EventLoopFuture<[RESPValue]> {
        guard !commands.isEmpty else {
            return self.eventLoop.makeSucceededFuture([])
        }
        guard commands.allSatisfy({ !$0.isEmpty }) else {
            return self.eventLoop.makeFailedFuture(RedisError.invalidCommand("a command needs at least one argument"))
        }
        let promise = self.eventLoop.makePromise(of: [RESPValue].self)
        var size = 0
        for command in commands {
            size += RedisCommandEncoder.estimatedSize(command)
        }
        var buffer = self.channel.allocator.buffer(capacity: size)
        RedisCommandEncoder.encode(batch: commands, into: &buffer)
        self.write(RedisRequest(bytes: buffer, response: .batch(count: commands.count, promise)))
        return promise.futureResult
    }

    /// Closes the connection; outstanding commands fail with ``RedisError/connectionClosed``.
    ///
    /// Closing a closed connection succeeds.
    @discardableResult
    public func close() -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        self.channel.close(mode: .all, promise: promise)
        return promise.futureResult.flatMapError { error in
            if let channelError = error as? ChannelError, channelError == .alreadyClosed {
                return self.eventLoop.makeSucceededVoidFuture()
            }
            return self.eventLoop.makeFailedFuture(error)
        }
    }

    /// Writes an encoded request; a request the channel refuses fails its response.
    func write(_ request: RedisRequest) {
        // On the channel's own loop an active channel still has its handler, which fails the
        // request itself if it cannot send it: no write promise is needed, and none is made (a
        // promise, its future and the closure waiting on it, for every command).
        if self.channel.eventLoop.inEventLoop && self.channel.isActive {
            self.channel.writeAndFlush(request, promise: nil)
            return
        }
        let url = self.url
        self.channel.writeAndFlush(request).whenFailure { error in
            request.response.fail((error as? RedisError) ?? RedisError.connectionClosed.at(url.address))
        }
    }

    /// Switches the connection to pub/sub mode. Call on ``eventLoop``.
    func enterPubSubMode(_ commands: RedisPubSubCommands, onEvent: @escaping (PubSubEvent) -> Void) throws {
        let handler = try self.channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self)
        handler.enterPubSubMode(commands, onEvent: onEvent)
    }

    /// Sends pub/sub commands whose replies are `confirmations` subscribe/unsubscribe confirmations.
    func sendSubscriptionCommands(_ bytes: ByteBuffer, confirmations: Int) -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        self.write(RedisRequest(bytes: bytes, response: .confirmations(count: confirmations, promise)))
        return promise.futureResult
    }

    /// `AUTH` and `SELECT` as the URL asks, `SCRIPT LOAD` of `scripts`, then `PING`: proof that
    /// Redis answers.
    private func handshake(scripts: [RedisScript]) -> EventLoopFuture<Void> {
        var commands: [[RedisArgument]] = []
        let authenticates = self.url.password != nil
        if let password = self.url.password {
            if let user = self.url.user {
                commands.append(["AUTH", RedisArgument(user), RedisArgument(password)])
            } else {
                commands.append(["AUTH", RedisArgument(password)])
            }
        }
        if self.url.database != 0 {
            commands.append(["SELECT", RedisArgument(self.url.database)])
        }
        for script in scripts { commands.append(["SCRIPT", "LOAD", RedisArgument(script.source)]) }
        commands.append(["PING"])
        let address = self.url.address
        return self.send(batch: commands).flatMapThrowing { replies in
            for (index, reply) in replies.enumerated() {
                guard case .error(let message) = reply else { continue }
                if message.hasPrefix("NOAUTH") {
                    throw RedisError.authenticationFailed(
                        "redis requires a password; put it in the URL: redis://:password@host"
                    ).at(address)
                }
                if authenticates && index == 0 {
                    throw RedisError.authenticationFailed(message).at(address)
                }
                throw RedisError.server(message).at(address)
            }
        }
    }

    /// A ``RedisError`` with a short reason for a failed connect.
    static func connectError(_ error: any Error, address: String) -> RedisError {
        if let redisError = error as? RedisError {
            return redisError.at(address)
        }
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return RedisError.connectTimeout.at(address)
        }
        if let connectionError = error as? NIOConnectionError {
            if let first = connectionError.connectionErrors.first {
                return Self.connectError(first.error, address: address)
            }
            if connectionError.dnsAError != nil || connectionError.dnsAAAAError != nil {
                return RedisError.connectFailed("cannot resolve host '\(connectionError.host)'").at(address)
            }
            return RedisError.connectFailed("no address to connect to").at(address)
        }
        if let ioError = error as? IOError {
            return RedisError.connectFailed(String(cString: strerror(ioError.errnoCode)).lowercased()).at(address)
        }
        return RedisError.connectFailed("\(error)").at(address)
    }
}
