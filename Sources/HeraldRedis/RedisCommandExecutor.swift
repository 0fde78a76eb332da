import NIOCore

/// Something that sends Redis commands: a ``RedisConnection`` or a ``RedisClient``.
///
/// Scripts (``evalScript(_:keys:arguments:)``, ``scriptLoad(_:)``) are built on these two methods.
public protocol RedisCommandExecutor: Sendable {
    /// Sends one command; an error reply fails the future with ``RedisError/server(_:)``.
    func send(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue>

    /// Sends several commands in one write; error replies appear as values in the array.
    func send(batch commands: [[RedisArgument]]) -> EventLoopFuture<[RESPValue]>
}

extension RedisConnection: RedisCommandExecutor {}
