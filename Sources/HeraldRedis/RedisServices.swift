import NIOCore

/// The command side of a Redis engine: one Redis (``RedisClientGroup``) or a Redis Cluster
/// (``RedisClusterClient``), each reconnecting by itself.
public protocol RedisCommandService: RedisCommandExecutor, AnyObject {
    /// Connects (for a cluster: finds its masters first).
    func start() -> EventLoopFuture<Void>
    func shutdown() -> EventLoopFuture<Void>
    /// Whether every connection commands need is up.
    var isConnected: Bool { get }
}

/// The pub/sub side of a Redis engine: ``RedisSubscriber`` (`SUBSCRIBE` on one Redis) or
/// ``RedisClusterSubscriber`` (`SSUBSCRIBE` on each shard's master).
public protocol RedisPubSubService: AnyObject, Sendable {
    func start() -> EventLoopFuture<Void>
    func shutdown() -> EventLoopFuture<Void>
    /// Succeeds once Redis confirmed every channel.
    func subscribe(_ channels: [String]) -> EventLoopFuture<Void>
    func unsubscribe(_ channels: [String])
    /// Whether every connection that carries a wanted channel is up.
    var isConnected: Bool { get }
    /// Called after a connection (re)subscribed its whole set: what was published meanwhile must
    /// be fetched from the backlogs.
    var onResubscribed: (@Sendable () -> Void)? { get set }
}

extension RedisClientGroup: RedisCommandService {}
extension RedisClusterClient: RedisCommandService {}
extension RedisSubscriber: RedisPubSubService {}
extension RedisClusterSubscriber: RedisPubSubService {}
extension RedisClient: RedisCommandService {}
