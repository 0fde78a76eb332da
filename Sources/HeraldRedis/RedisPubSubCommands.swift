/// The command and reply names of one flavour of Redis pub/sub, kept in one place.
///
/// ``standard`` is classic pub/sub (`SUBSCRIBE`); ``sharded`` is Redis 7's sharded pub/sub (`SSUBSCRIBE`),
/// which Redis Cluster needs so that a channel's messages stay on its shard.
public struct RedisPubSubCommands: Sendable, Hashable {
    /// The command that subscribes to channels (`SUBSCRIBE`).
    public var subscribe: String
    /// The command that leaves channels (`UNSUBSCRIBE`).
    public var unsubscribe: String
    /// The command that publishes a message (`PUBLISH`), for scripts and tools that publish.
    public var publish: String
    /// The first element of a message push (`message`).
    public var messageKind: String
    /// The first element of a subscription confirmation (`subscribe`).
    public var subscribeKind: String
    /// The first element of an unsubscription confirmation (`unsubscribe`).
    public var unsubscribeKind: String

    /// Classic pub/sub: `SUBSCRIBE`, `UNSUBSCRIBE`, `PUBLISH`.
    public static let standard = RedisPubSubCommands(
        subscribe: "SUBSCRIBE",
        unsubscribe: "UNSUBSCRIBE",
        publish: "PUBLISH",
        messageKind: "message",
        subscribeKind: "subscribe",
        unsubscribeKind: "unsubscribe"
    )

    /// Sharded pub/sub (Redis 7 and Redis Cluster): `SSUBSCRIBE`, `SUNSUBSCRIBE`, `SPUBLISH`.
    public static let sharded = RedisPubSubCommands(
        subscribe: "SSUBSCRIBE",
        unsubscribe: "SUNSUBSCRIBE",
        publish: "SPUBLISH",
        messageKind: "smessage",
        subscribeKind: "ssubscribe",
        unsubscribeKind: "sunsubscribe"
    )

    /// Command and reply names of your own.
    public init(
        subscribe: String,
        unsubscribe: String,
        publish: String,
        messageKind: String,
        subscribeKind: String,
        unsubscribeKind: String
    ) {
        self.subscribe = subscribe
        self.unsubscribe = unsubscribe
        self.publish = publish
        self.messageKind = messageKind
        self.subscribeKind = subscribeKind
        self.unsubscribeKind = unsubscribeKind
    }
}
