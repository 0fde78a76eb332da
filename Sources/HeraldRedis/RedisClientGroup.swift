import Logging
import NIOCore

/// One ``RedisClient`` per event loop of a group: a command goes out on the connection of the
/// loop that sends it, and its reply completes there, with no hop between threads either way.
///
/// Commands sent from one event loop stay in order (one connection); commands from different loops
/// may interleave, as those of separate clients do. From a thread outside the group, commands go to
/// the first loop's connection.
public final class RedisClientGroup: Sendable {
    /// The clients, one per event loop.
    public let clients: [RedisClient]

    /// Opens nothing yet; ``start()`` connects every client.
    public init(
        url: RedisURL, eventLoopGroup: any EventLoopGroup, settings: RedisClient.Settings = .init(), logger: Logger
    ) {
        var clients: [RedisClient] = []
        for loop in eventLoopGroup.makeIterator() {
            clients.append(RedisClient(url: url, eventLoopGroup: loop, settings: settings, logger: logger))
        }
        self.clients = clients
    }

    /// The client of the calling thread's event loop, else the first.
    public var local: RedisClient {
        clients.first { $0.eventLoop.inEventLoop } ?? clients[0]
    }

    /// Whether every client is connected.
    public var isConnected: Bool { clients.allSatisfy(\.isConnected) }

    /// Connects every client; fails if any first attempt failed (each keeps retrying regardless).
    public func start() -> EventLoopFuture<Void> {
        let loop = clients[0].eventLoop
        return EventLoopFuture.andAllSucceed(clients.map { $0.start() }, on: loop)
    }

    /// Closes every client.
    public func shutdown() -> EventLoopFuture<Void> {
        let loop = clients[0].eventLoop
        return EventLoopFuture.andAllComplete(clients.map { $0.shutdown() }, on: loop)
    }
}

extension RedisClientGroup: RedisCommandExecutor {
    public func send(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue> {
        local.send(arguments)
    }

    public func send(batch commands: [[RedisArgument]]) -> EventLoopFuture<[RESPValue]> {
        local.send(batch: commands)
    }
}
