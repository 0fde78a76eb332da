import HeraldCore
import HeraldRedis
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a publish assigned: the message's channel, id, time and tag.
/// Why a publish failed that Redis itself did not refuse.
public enum PublishError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message was published, but its writes did not reach
    /// ``HeraldPublisher/Settings/durableReplicas`` replicas in time: a failover now could lose it.
    case notReplicated

    public var description: String {
        switch self {
        case .notReplicated: "the publish did not reach its replicas in time"
        }
    }
}

public struct PublishedMessage: Sendable, Hashable {
    public var channel: String
    /// The channel's next gap-free id.
    public var id: Int64
    /// Redis's clock, Unix seconds.
    public var time: Int64
    /// Counts the channel's messages within `time`'s second.
    public var tag: Int64
    /// The channel's stored messages right after the publish (when channel info was asked for).
    public var storedMessages: Int?
    /// The channel's subscribers on live nodes (when channel info was asked for).
    public var subscribers: Int?

    public init(
        channel: String, id: Int64, time: Int64, tag: Int64, storedMessages: Int? = nil, subscribers: Int? = nil
    ) {
        self.channel = channel
        self.id = id
        self.time = time
        self.tag = tag
        self.storedMessages = storedMessages
        self.subscribers = subscribers
    }
}

/// Publishes to Herald channels by writing to Redis directly: each message is one atomic script
/// (next id, append to the backlog, trim, expire, publish), so subscribers on any node get it, and
/// a subscriber that reconnects resumes from the backlog. HTTP publishes on `/pub` go through this
/// same code, so the two are indistinguishable to subscribers.
///
/// Thread-safe; futures complete on the Redis connection's event loop.
public final class HeraldPublisher: Sendable {
    /// How messages are stored; match the nodes' settings.
    public struct Settings: Sendable, Hashable {
        /// Append to the backlog (else only broadcast).
        public var storeMessages = true
        /// Backlog length per channel.
        public var maxMessagesStoredPerChannel = 100
        /// How long a stored message is kept, in seconds.
        public var messageTTL: Int64 = 600
        /// How long a channel's counters outlive its last publish, in seconds (ids never restart
        /// while a channel is in use).
        public var channelRetention: Int64 = 86_400
        /// How long a channel created with no message (a subscriber joining) outlives its last
        /// subscriber, in seconds.
        public var channelInactivity: Int64 = 30
        /// Channels with this prefix are wildcard channels, counted apart.
        public var wildcardChannelPrefix: String?
        /// Most channels (not wildcard) that may exist in Redis; creating one more is refused with
        /// ``ProtocolError/channelsLimitExceeded``. nil: no limit.
        public var maxNumberOfChannels: Int?
        /// Most wildcard channels that may exist in Redis. nil: no limit.
        public var maxNumberOfWildcardChannels: Int?
        /// Key names.
        public var keys = RedisKeys()
        /// Redis Cluster: each publish touches only its channel's slot and goes out with
        /// `SPUBLISH` (``RedisScripts/publishSharded``). The cluster-wide lists are not kept then:
        /// no channel listing or totals, and `maxNumberOfChannels` is not counted.
        public var sharded = false
        /// How long a publish's idempotency key is remembered (seconds): a publish with a key seen
        /// within it answers as the first did and is not stored or sent again.
        public var idempotencyWindow: Int64 = 300
        /// With more than 0, a publish is acknowledged only once its writes reached this many
        /// replicas (`WAIT`), so it survives a failover; otherwise it fails with
        /// ``PublishError/notReplicated`` (the message was published: retry with the same
        /// idempotency key).
        public var durableReplicas = 0
        /// How long a publish waits for its replicas, in milliseconds.
        public var durabilityTimeout = 1_000

        public init() {}
    }

    /// One message of a batch.
    public struct Outgoing: Sendable {
        public var channels: [String]
        public var text: [UInt8]
        public var eventID: String?
        public var eventType: String?
        /// Makes a retried publish harmless: one with the same key within
        /// ``Settings/idempotencyWindow`` answers with the first one's id, time and tag, and is
        /// neither stored nor sent again (per channel).
        public var idempotencyKey: String?

        public init(
            channels: [String], text: [UInt8], eventID: String? = nil, eventType: String? = nil,
            idempotencyKey: String? = nil
        ) {
            self.channels = channels
            self.text = text
            self.eventID = eventID
            self.eventType = eventType
            self.idempotencyKey = idempotencyKey
        }
    }

    /// Where commands go: a ``RedisClient`` (reconnecting) or a single ``RedisConnection``.
    public let redis: any RedisCommandExecutor
    public let settings: Settings

    static let publishScript = RedisScript(RedisScripts.publish)
    static let publishShardedScript = RedisScript(RedisScripts.publishSharded)
    static let readScript = RedisScript(RedisScripts.read)
    static let fenceScript = RedisScript(RedisScripts.fence)
    static let deleteScript = RedisScript(RedisScripts.delete)
    static let deleteShardedScript = RedisScript(RedisScripts.deleteSharded)
    static let createScript = RedisScript(RedisScripts.create)
    static let createShardedScript = RedisScript(RedisScripts.createSharded)

    /// Every script the publisher runs: give them to the client's connections
    /// (`RedisClient.Settings.scripts`) so they are loaded at each connect, before anything is
    /// pipelined. Publishes pipelined while Redis lacks the script would each be answered
    /// `NOSCRIPT` and sent again, and a later batch could then overtake an earlier one.
    public static let scripts = [
        publishScript, publishShardedScript, readScript, fenceScript, deleteScript, deleteShardedScript,
        createScript, createShardedScript,
    ]

    public init(redis: any RedisCommandExecutor, settings: Settings = Settings()) {
        self.redis = redis
        self.settings = settings
    }

    /// Which kinds of channel a sharded publish or create may not make: the caller's view of a
    /// Redis Cluster's channel limits (``Settings/maxNumberOfChannels`` and the wildcard one).
    public struct NewChannelRefusal: Sendable, Hashable {
        public var channels: Bool
        public var wildcardChannels: Bool

        public init(channels: Bool = false, wildcardChannels: Bool = false) {
            self.channels = channels
            self.wildcardChannels = wildcardChannels
        }

        public static let none = NewChannelRefusal()

        func refuses(_ wildcard: Bool) -> Bool { wildcard ? wildcardChannels : channels }
    }

    // MARK: Publishing

    /// Publishes `text` to each channel (one message per channel, each with its own id).
    ///
    /// With `channelInfo`, each result also carries the channel's stored messages and subscribers,
    /// read in the same atomic step.
    public func publish(
        _ text: [UInt8], to channels: [String], eventID: String? = nil, eventType: String? = nil, store: Bool? = nil,
        channelInfo: Bool = false
    ) -> EventLoopFuture<[PublishedMessage]> {
        publish(
            batch: [Outgoing(channels: channels, text: text, eventID: eventID, eventType: eventType)], store: store,
            channelInfo: channelInfo)
    }

    /// Publishes many messages in one pipelined write; results in the same order, one per channel.
    ///
    /// - Parameter refusing: With ``Settings/sharded``, the kinds of channel that may not be
    ///   created (the caller's view of the cluster's channel limit); publishing to a channel of
    ///   such a kind that does not exist fails with `ProtocolError.channelsLimitExceeded`. One
    ///   Redis checks the limit in the script itself.
    public func publish(
        batch: [Outgoing], store: Bool? = nil, channelInfo: Bool = false, refusing: NewChannelRefusal = .none
    ) -> EventLoopFuture<[PublishedMessage]> {
        let store = store ?? settings.storeMessages
        var commands: [[RedisArgument]] = []
        var channels: [String] = []
        for message in batch {
            for channel in message.channels {
                let refused = settings.sharded && refusing.refuses(isWildcard(channel))
                commands.append(
                    publishCommand(channel, message, store: store, channelInfo: channelInfo, refused: refused))
                channels.append(channel)
            }
        }
        let script = settings.sharded ? Self.publishShardedScript : Self.publishScript
        return runScriptBatch(commands, script: script, durable: true) { [channels] replies in
            try zip(channels, replies).map { channel, reply in try Self.published(channel, reply) }
        }
    }

    private func isWildcard(_ channel: String) -> Bool {
        ChannelPath.isWildcard(channel, prefix: settings.wildcardChannelPrefix)
    }

    /// The live set a channel is counted in, and that set's limit (0: none).
    private func live(_ channel: String) -> (key: String, max: Int) {
        if isWildcard(channel) {
            return (settings.keys.liveWildcard, settings.maxNumberOfWildcardChannels ?? 0)
        }
        return (settings.keys.live, settings.maxNumberOfChannels ?? 0)
    }

    private func publishCommand(
        _ channel: String, _ message: Outgoing, store: Bool, channelInfo: Bool, refused: Bool
    ) -> [RedisArgument] {
        let keys = settings.keys
        let script = settings.sharded ? Self.publishShardedScript : Self.publishScript
        // The whole command in one array, keys first, made at its final size: separate key and
        // argument arrays joined with `+` made five allocations on every publish.
        var command: [RedisArgument] = ["EVALSHA", RedisArgument(script.sha1), 0]
        command.reserveCapacity(22)
        command.append(RedisArgument(keys.meta(channel)))
        command.append(RedisArgument(keys.log(channel)))
        let live = self.live(channel)
        if settings.sharded {
            if channelInfo { command.append(RedisArgument(keys.subscribers(channel))) }
        } else {
            command += [RedisArgument(keys.channels), RedisArgument(keys.stats), RedisArgument(live.key)]
            if channelInfo { command += [RedisArgument(keys.subscribers(channel)), RedisArgument(keys.nodes)] }
        }
        let idempotency = message.idempotencyKey.map { RedisArgument(keys.idempotency(channel, key: $0)) }
        if let idempotency { command.append(idempotency) }
        command[2] = RedisArgument(command.count - 3)
        command += [
            RedisArgument(channel), RedisArgument(message.text),
            RedisArgument(message.eventID ?? ""), RedisArgument(message.eventType ?? ""), store ? "1" : "0",
            RedisArgument(settings.maxMessagesStoredPerChannel), RedisArgument(Int(settings.messageTTL)),
            RedisArgument(Int(settings.channelRetention)), RedisArgument(keys.pubsub(channel)),
        ]
        command.append(settings.sharded ? (refused ? "1" : "0") : RedisArgument(live.max))
        if idempotency != nil { command.append(RedisArgument(Int(max(1, settings.idempotencyWindow)))) }
        return command
    }

    static func published(_ channel: String, _ reply: RESPValue) throws -> PublishedMessage {
        if let message = reply.errorMessage { throw RedisError.server(message) }
        if let fields = reply.array, fields.count == 1, fields[0].int == -1 {
            throw ProtocolError.channelsLimitExceeded
        }
        guard let fields = reply.array, fields.count == 3 || fields.count == 5, let id = fields[0].int,
            let time = fields[1].int, let tag = fields[2].int
        else { throw RedisError.protocolViolation("publish script answered \(reply)") }
        let info = fields.count == 5
        return PublishedMessage(
            channel: channel, id: Int64(id), time: Int64(time), tag: Int64(tag),
            storedMessages: info ? fields[3].int : nil, subscribers: info ? fields[4].int : nil)
    }

    /// Sends a pipelined batch of `EVALSHA`s; if Redis lost the script (`NOSCRIPT`), loads it and
    /// sends the failed ones again, in their order. With ``Settings/durableReplicas``, waits for
    /// the replicas and fails with ``PublishError/notReplicated`` if they did not all follow.
    private func runScriptBatch<Result: Sendable>(
        _ commands: [[RedisArgument]], script: RedisScript, durable: Bool = false,
        decode: @escaping @Sendable ([RESPValue]) throws -> Result
    ) -> EventLoopFuture<Result> {
        let replicas = durable ? settings.durableReplicas : 0
        let timeout = settings.durabilityTimeout
        let redis = self.redis
        @Sendable func send(_ commands: [[RedisArgument]]) -> EventLoopFuture<[RESPValue]> {
            guard replicas > 0 else { return redis.send(batch: commands) }
            return redis.send(batch: commands, replicas: replicas, timeout: timeout).flatMapThrowing { result in
                guard result.replicated else { throw PublishError.notReplicated }
                return result.replies
            }
        }
        let sent = send(commands)
        // One promise for the NOSCRIPT check and the caller's decoding: a `flatMap` and the
        // caller's `flatMapThrowing` made two, with a closure each, on every publish and connect.
        let answer = sent.eventLoop.makePromise(of: Result.self)
        sent.whenComplete { outcome in
            switch outcome {
            case .failure(let error):
                answer.fail(error)
            case .success(let replies):
                let missing = replies.indices.filter { replies[$0].errorMessage?.hasPrefix("NOSCRIPT") == true }
                guard !missing.isEmpty else { return answer.completeWith(Swift.Result { try decode(replies) }) }
                let retried = redis.scriptLoad(script).flatMap { _ in
                    send(missing.map { commands[$0] })
                }.flatMapThrowing { retried in
                    var replies = replies
                    for (index, reply) in zip(missing, retried) { replies[index] = reply }
                    return try decode(replies)
                }
                answer.completeWith(retried)
            }
        }
        return answer.futureResult
    }

    // MARK: Reading, creating, deleting

    /// A channel's last message and unexpired stored messages, read atomically.
    public func backlog(_ channel: String) -> EventLoopFuture<ChannelBacklog> {
        let keys = settings.keys
        return redis.evalScript(
            Self.readScript, keys: [RedisArgument(keys.meta(channel)), RedisArgument(keys.log(channel))],
            arguments: [RedisArgument(Int(settings.messageTTL))], decode: Self.decodeBacklog)
    }

    /// ``backlog(_:)`` of several channels in one pipelined write, each read atomically and
    /// answered on its own: a channel whose read fails does not fail the others.
    public func backlogs(_ channels: [String]) -> EventLoopFuture<[Result<ChannelBacklog, any Error>]> {
        let keys = settings.keys
        let sha = RedisArgument(Self.readScript.sha1)
        let ttl = RedisArgument(Int(settings.messageTTL))
        let commands = channels.map { channel -> [RedisArgument] in
            ["EVALSHA", sha, 2, RedisArgument(keys.meta(channel)), RedisArgument(keys.log(channel)), ttl]
        }
        return runScriptBatch(commands, script: Self.readScript) { replies in
            replies.map { reply in Result { try Self.decodeBacklog(reply) } }
        }
    }

    /// The read script's reply as a backlog; an error reply throws ``RedisError/server(_:)``.
    @Sendable static func decodeBacklog(_ reply: RESPValue) throws -> ChannelBacklog {
        if let message = reply.errorMessage { throw RedisError.server(message) }
        guard let items = reply.array, items.count >= 5, let last = items[0].bytes else {
            throw RedisError.protocolViolation("read script answered \(reply)")
        }
        func number(_ index: Int) -> Int64 { items[index].string.flatMap { Int64($0) } ?? 0 }
        let lastID = number(0)
        let generation = number(1)
        var previous: (time: Int64, tag: Int64)?
        var messages: [Message] = []
        messages.reserveCapacity(items.count - 5)
        for item in items.dropFirst(5) {
            guard let bytes = item.bytes, var decoded = Envelope.decodeWithPrevious(bytes) else { continue }
            if messages.isEmpty { previous = decoded.previous }
            // Envelopes of an older Herald carry no generation; they belong to the current one.
            if decoded.message.generation == 0 { decoded.message.generation = generation }
            messages.append(decoded.message)
        }
        let point =
            lastID > 0
            ? StreamPoint(id: lastID, generation: generation, time: number(2), tag: number(3))
            : .start(of: generation)
        var backlog = ChannelBacklog(messages: messages, last: point, exists: !last.isEmpty, previous: previous)
        backlog.fence = items[4].string.flatMap { StreamPoint(fence: $0, generation: generation) }
        return backlog
    }

    /// Records that Redis lost messages up to `delivered`, which a node had delivered
    /// (``RedisScripts/fence``): their ids are not handed out again, and a subscriber that had not
    /// reached `delivered` is told of the gap. Returns whether the fence moved.
    public func fence(_ channel: String, delivered: StreamPoint) -> EventLoopFuture<Bool> {
        redis.evalScript(
            Self.fenceScript, keys: [RedisArgument(settings.keys.meta(channel))],
            arguments: [
                RedisArgument(Int(delivered.generation)), RedisArgument(Int(delivered.id)),
                RedisArgument(Int(delivered.time)), RedisArgument(Int(delivered.tag)),
            ]
        ) { $0.int == 1 }
    }

    /// The last id and stored count of each channel, `nil` for channels that do not exist.
    public func records(_ channels: [String]) -> EventLoopFuture<[ChannelRecord?]> {
        let keys = settings.keys
        let commands: [[RedisArgument]] = channels.flatMap { channel -> [[RedisArgument]] in
            [["HGET", RedisArgument(keys.meta(channel)), "last_id"], ["LLEN", RedisArgument(keys.log(channel))]]
        }
        return redis.send(batch: commands).map { replies in
            channels.enumerated().map { index, channel in
                guard let last = replies[2 * index].string, let lastID = Int64(last) else { return nil }
                return ChannelRecord(
                    channel: channel, lastID: lastID, storedMessages: replies[2 * index + 1].int ?? 0)
            }
        }
    }

    /// Every channel whose id starts with `prefix`, in creation order; forgets expired ones.
    public func records(prefix: String) -> EventLoopFuture<[ChannelRecord]> {
        let keys = settings.keys
        return redis.send(["ZRANGE", RedisArgument(keys.channels), 0, -1]).flatMap { [redis] reply in
            let names = (reply.array ?? []).compactMap(\.string).filter { $0.hasPrefix(prefix) }
            let read = self.records(names)
            return read.flatMap { records in
                let gone = zip(names, records).filter { $0.1 == nil }.map { RedisArgument($0.0) }
                guard !gone.isEmpty else { return read.eventLoop.makeSucceededFuture(records.compactMap { $0 }) }
                return redis.send(["ZREM", RedisArgument(keys.channels)] + gone).map { _ in records.compactMap { $0 } }
            }
        }
    }

    /// Creates channels that do not exist yet (a subscriber joining); they get listed, with no
    /// message, and live for ``Settings/channelInactivity`` unless called again or published to.
    /// Called again for a channel that exists, it only keeps it alive.
    public func create(_ channels: [String]) -> EventLoopFuture<Void> {
        guard !settings.sharded else { return createSharded(channels).map { _ in () } }
        let commands = channels.map(createCommand)
        return runScriptBatch(commands, script: Self.createScript) { replies in
            if let error = replies.compactMap(\.errorMessage).first { throw RedisError.server(error) }
            if replies.contains(where: { $0.int == -1 }) { throw ProtocolError.channelsLimitExceeded }
        }
    }

    /// ``create(_:)`` of each channel on its own, in one pipelined write: a channel refused
    /// (`ProtocolError.channelsLimitExceeded`) or failed does not fail the others. One Redis only.
    public func createEach(_ channels: [String]) -> EventLoopFuture<[Result<Void, any Error>]> {
        let commands = channels.map(createCommand)
        return runScriptBatch(commands, script: Self.createScript) { replies in
            replies.map { reply in
                if let error = reply.errorMessage { return .failure(RedisError.server(error)) }
                return reply.int == -1 ? .failure(ProtocolError.channelsLimitExceeded) : .success(())
            }
        }
    }

    /// The create script's command for `channel` on one Redis.
    private func createCommand(_ channel: String) -> [RedisArgument] {
        let keys = settings.keys
        let live = self.live(channel)
        return [
            "EVALSHA", RedisArgument(Self.createScript.sha1), 4, RedisArgument(keys.meta(channel)),
            RedisArgument(keys.channels), RedisArgument(keys.stats), RedisArgument(live.key),
            RedisArgument(channel),
            RedisArgument(Int(settings.channelRetention)), RedisArgument(Int(settings.channelInactivity)),
            RedisArgument(live.max),
        ]
    }

    /// ``create(_:)`` on a Redis Cluster (``Settings/sharded``): for each channel whether it was
    /// created and how many seconds it now lives, so the caller can list it and count it.
    public func createSharded(
        _ channels: [String], refusing: NewChannelRefusal = .none
    ) -> EventLoopFuture<[(created: Bool, lifetime: Int)]> {
        let commands: [[RedisArgument]] = channels.map { channel in
            [
                "EVALSHA", RedisArgument(Self.createShardedScript.sha1), 1, RedisArgument(settings.keys.meta(channel)),
                RedisArgument(channel), RedisArgument(Int(settings.channelRetention)),
                RedisArgument(Int(settings.channelInactivity)), refusing.refuses(isWildcard(channel)) ? "1" : "0",
            ]
        }
        return runScriptBatch(commands, script: Self.createShardedScript) { replies in
            if let error = replies.compactMap(\.errorMessage).first { throw RedisError.server(error) }
            return try replies.map { reply in
                let fields = reply.array ?? []
                if fields.first?.int == -1 { throw ProtocolError.channelsLimitExceeded }
                guard fields.count == 2, let created = fields[0].int, let lifetime = fields[1].int else {
                    throw RedisError.protocolViolation("create script answered \(reply)")
                }
                return (created == 1, lifetime)
            }
        }
    }

    /// Deletes channels; their subscribers on every node get `notice` as the id -2 message.
    /// Returns the channels that existed.
    public func delete(_ channels: [String], notice: [UInt8]) -> EventLoopFuture<[String]> {
        let keys = settings.keys
        let script = settings.sharded ? Self.deleteShardedScript : Self.deleteScript
        let commands: [[RedisArgument]] = channels.map { channel in
            let channelKeys: [RedisArgument] =
                settings.sharded
                ? [RedisArgument(keys.meta(channel)), RedisArgument(keys.log(channel))]
                : [
                    RedisArgument(keys.meta(channel)), RedisArgument(keys.log(channel)), RedisArgument(keys.channels),
                    RedisArgument(live(channel).key),
                ]
            return ["EVALSHA", RedisArgument(script.sha1), RedisArgument(channelKeys.count)] + channelKeys + [
                RedisArgument(channel), RedisArgument(keys.pubsub(channel)), RedisArgument(notice),
            ]
        }
        return runScriptBatch(commands, script: script) { replies in
            if let error = replies.compactMap(\.errorMessage).first { throw RedisError.server(error) }
            return zip(channels, replies).filter { $0.1.int == 1 }.map(\.0)
        }
    }

    /// Server-wide counts: channels and wildcard channels that exist, messages published. A few
    /// O(log n) reads, whatever the number of channels.
    public func totals() -> EventLoopFuture<(channels: Int, wildcardChannels: Int, publishedMessages: Int64)> {
        let keys = settings.keys
        let now = RedisArgument(Int(time(nil)))
        return redis.send(batch: [
            ["ZCARD", RedisArgument(keys.live)], ["ZCOUNT", RedisArgument(keys.live), "-inf", now],
            ["ZCARD", RedisArgument(keys.liveWildcard)], ["ZCOUNT", RedisArgument(keys.liveWildcard), "-inf", now],
            ["HGET", RedisArgument(keys.stats), "published_messages"],
        ]).map { replies in
            (
                (replies[0].int ?? 0) - (replies[1].int ?? 0), (replies[2].int ?? 0) - (replies[3].int ?? 0),
                Int64(replies[4].string ?? "") ?? 0
            )
        }
    }
}

// MARK: Presence

extension HeraldPublisher {
    /// The users online on `channel` across the cluster, with their connection counts: the entries
    /// of the node runs whose heartbeat is current.
    public func presence(channel: String) -> EventLoopFuture<[String: Int]> {
        let keys = settings.keys
        return redis.send(batch: [Self.liveRuns(keys), ["HGETALL", RedisArgument(keys.presence(channel))]]).map {
            replies in
            let live = Set((replies[0].array ?? []).compactMap(\.string))
            var users: [String: Int] = [:]
            Self.forEachField(replies[1]) { field, count in
                guard let space = field.firstIndex(of: " "), live.contains(String(field[..<space])) else { return }
                users[String(field[field.index(after: space)...]), default: 0] += count
            }
            return users.filter { $0.value > 0 }
        }
    }

    /// How many connections `user` has across the cluster (0: offline).
    public func presence(user: String) -> EventLoopFuture<Int> {
        let keys = settings.keys
        return redis.send(batch: [Self.liveRuns(keys), ["HGETALL", RedisArgument(keys.userPresence(user))]]).map {
            replies in
            let live = Set((replies[0].array ?? []).compactMap(\.string))
            var connections = 0
            Self.forEachField(replies[1]) { run, count in if live.contains(run) { connections += count } }
            return connections
        }
    }

    /// Whether `user` is connected anywhere in the cluster.
    public func isOnline(user: String) async throws -> Bool {
        try await presence(user: user).get() > 0
    }

    /// Runs whose heartbeat has not expired.
    static func liveRuns(_ keys: RedisKeys) -> [RedisArgument] {
        ["ZRANGEBYSCORE", RedisArgument(keys.runs), RedisArgument(Int(UnixClock.milliseconds())), "+inf"]
    }

    /// The field/value pairs of an `HGETALL` reply, values read as integers.
    static func forEachField(_ reply: RESPValue, _ body: (String, Int) -> Void) {
        let fields = reply.array ?? []
        var index = 0
        while index + 1 < fields.count {
            if let field = fields[index].string, let count = fields[index + 1].string.flatMap({ Int($0) }) {
                body(field, count)
            }
            index += 2
        }
    }
}

extension HeraldPublisher {
    /// Publishes a text message to one channel.
    ///
    /// With an `idempotencyKey`, publishing again with the same key within
    /// ``Settings/idempotencyWindow`` (a retry after a timeout) answers with the first publish's id
    /// and stores nothing twice.
    public func publish(
        channel: String, text: String, eventType: String? = nil, eventID: String? = nil,
        idempotencyKey: String? = nil
    ) async throws -> PublishedMessage {
        try await publish(
            channels: [channel], text: text, eventType: eventType, eventID: eventID,
            idempotencyKey: idempotencyKey)[0]
    }

    /// Publishes one message to several channels; one result per channel, in order.
    public func publish(
        channels: [String], text: String, eventType: String? = nil, eventID: String? = nil,
        idempotencyKey: String? = nil
    ) async throws -> [PublishedMessage] {
        let message = Outgoing(
            channels: channels, text: Array(text.utf8), eventID: eventID, eventType: eventType,
            idempotencyKey: idempotencyKey)
        return try await publish(batch: [message]).get()
    }

    /// Deletes a channel; true if it existed.
    public func delete(channel: String, notice: String = "Channel deleted") async throws -> Bool {
        try await delete([channel], notice: Array(notice.utf8)).get() == [channel]
    }

    /// A channel's last id and stored count, or nil if it does not exist.
    public func channelInfo(channel: String) async throws -> ChannelRecord? {
        try await records([channel]).get()[0]
    }
}
