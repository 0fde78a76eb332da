import NIOCore

/// Something that sends Redis commands: a ``RedisConnection`` or a ``RedisClient``.
///
/// Scripts (``evalScript(_:keys:arguments:)``, ``scriptLoad(_:)``) are built on these two methods.
public protocol RedisCommandExecutor: Sendable {
    /// Sends one command; an error reply fails the future with ``RedisError/server(_:)``.
    func send(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue>

    /// Sends several commands in one write; error replies appear as values in the array.
    func send(batch commands: [[RedisArgument]]) -> EventLoopFuture<[RESPValue]>

    /// ``send(batch:)``, then `WAIT replicas timeout` on each connection the batch went through:
    /// also whether every such connection's writes reached `replicas` replicas within `timeout`
    /// milliseconds.
    func send(
        batch commands: [[RedisArgument]], replicas: Int, timeout: Int
    ) -> EventLoopFuture<(replies: [RESPValue], replicated: Bool)>
}

extension RedisCommandExecutor {
    /// One connection: the `WAIT` goes last in the same write.
    public func send(
        batch commands: [[RedisArgument]], replicas: Int, timeout: Int
    ) -> EventLoopFuture<(replies: [RESPValue], replicated: Bool)> {
        send(batch: commands + [["WAIT", RedisArgument(replicas), RedisArgument(timeout)]]).map { replies in
            (Array(replies.dropLast()), (replies.last?.int ?? 0) >= replicas)
        }
    }
}

extension RedisConnection: RedisCommandExecutor {}
