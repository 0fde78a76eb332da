import HeraldCore
import HeraldPublisher
import HeraldRedis
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The cluster engine: backlog and pub/sub in Redis, shared by every node.
///
/// Publishes go through ``HeraldPublisher`` (one atomic script each), on a command connection per
/// event loop so a request and its Redis round trip never change threads. The node holds one pub/sub
/// connection with one SUBSCRIBE per locally hosted channel; ``ChannelFeeds`` turns it into an
/// in-order, gap-free stream. Each node reports its subscriber counts to Redis every second, so
/// channel info is cluster-wide and a dead node's counts vanish within a few seconds.
///
/// On a Redis Cluster (``Configuration/cluster``) commands go to each slot's master, the scripts
/// are the sharded ones (`SPUBLISH`, one slot each), pub/sub is one `SSUBSCRIBE` connection per
/// shard, and the node keeps the cluster-wide lists itself (``ClusterLedger``). Every beat while a
/// connection is down, and every ten otherwise, the node reads the slot map again and moves its
/// subscriptions to the masters now serving them (a failover), then repairs from the backlogs.
public final class RedisEngine: MessageEngine {
    public struct Configuration: Sendable {
        public var url: RedisURL
        /// Seeds of a Redis Cluster; nil for one Redis at ``url``.
        public var cluster: [RedisURL]?
        /// This node's name in Redis (subscriber counts, membership).
        public var nodeID: String
        public var publisher = HeraldPublisher.Settings()
        public var eventsChannelID: String?
        public var wildcardChannelPrefix: String?
        /// How nginx names this node (its ring points).
        public var advertise: String
        /// How long a node's counts are trusted without a heartbeat.
        public var heartbeatTTL = TimeAmount.seconds(5)
        /// How often a probe makes the round trip through each pub/sub route, and how long it may
        /// take; nil: no probes.
        public var deliveryProbe: (interval: TimeAmount, timeout: TimeAmount)?

        public init(url: RedisURL, nodeID: String, settings: NodeSettings) {
            self.url = url
            self.nodeID = nodeID
            self.advertise = settings.advertisedAddress
            publisher.storeMessages = settings.storeMessages
            publisher.maxMessagesStoredPerChannel = settings.maxMessagesStoredPerChannel
            publisher.messageTTL = settings.messageTTL.seconds
            publisher.channelRetention = settings.channelRetention.seconds
            publisher.channelInactivity = max(1, settings.channelInactivityTime.seconds)
            publisher.wildcardChannelPrefix = settings.wildcardChannelPrefix
            publisher.maxNumberOfChannels = settings.maxNumberOfChannels
            publisher.maxNumberOfWildcardChannels = settings.maxNumberOfWildcardChannels
            publisher.keys = RedisKeys(prefix: settings.redisPrefix)
            publisher.idempotencyWindow = max(1, settings.idempotencyWindow.seconds)
            publisher.durableReplicas = settings.publishReplicas
            publisher.durabilityTimeout = Int(max(1, settings.publishDurabilityTimeout.milliseconds))
            eventsChannelID = settings.eventsChannelID
            wildcardChannelPrefix = settings.wildcardChannelPrefix
            if settings.deliveryProbeInterval.milliseconds > 0 {
                deliveryProbe = (
                    .milliseconds(settings.deliveryProbeInterval.milliseconds),
                    .milliseconds(max(1, settings.deliveryProbeTimeout.milliseconds))
                )
            }
        }
    }

    let configuration: Configuration
    let client: any RedisCommandService
    let publisher: HeraldPublisher
    let subscriber: any RedisPubSubService
    /// Set on a Redis Cluster: the cluster-wide lists this node keeps.
    private let ledger: NIOLockedValueBox<ClusterLedger>?
    /// Set while the slot map is being read again and subscriptions moved.
    private let following = NIOLockedValueBox(false)
    /// The pub/sub round-trip check, unless turned off.
    private let probe: DeliveryProbeRunner?
    private let probeTimer = NIOLockedValueBox<RepeatedTask?>(nil)
    let feeds: ChannelFeeds
    /// This node's presence entries in Redis.
    let presenceShare: RedisPresence
    private let sink = NIOLockedValueBox<(any MessageSink)?>(nil)
    /// One-channel creates gathered in each event loop's current turn (one Redis only).
    private let creates: [ObjectIdentifier: TurnGathering<(channel: String, created: EventLoopPromise<Void>)>]
    /// Hosting reads gathered in the feeds loop's current turn.
    private let hostingReads = TurnGathering<(channel: String, hosted: EventLoopPromise<ChannelBacklog?>)>()
    private let reported = NIOLockedValueBox<[String: Int]>([:])
    private let timer = NIOLockedValueBox<RepeatedTask?>(nil)
    private let heartbeats = NIOLockedValueBox(0)
    /// Set when Redis did not know this node (it lost its data): the next beat writes every count.
    private let rewriteCounts = NIOLockedValueBox(false)
    /// A beat's subscriber-count batches are in flight.
    private let countsInFlight = NIOLockedValueBox(false)
    /// Set once the node has left the membership: heartbeats stop re-registering it.
    private let left = NIOLockedValueBox(false)
    /// When a Redis failure was last logged: one line a second at most, however many requests fail.
    private let lastFailureLogged = NIOLockedValueBox<NIODeadline?>(nil)
    private let logger: Logger
    private var keys: RedisKeys { configuration.publisher.keys }
    /// Stored messages in every channel, as last counted by a walk in the background (the totals
    /// never wait for one), and when that walk started.
    private let storedMessages = NIOLockedValueBox<(count: Int64, walkedAt: NIODeadline?, walking: Bool)>(
        (0, nil, false))
    /// How old the stored-messages figure may get before the totals start a new walk.
    static let storedMessagesMaxAge = TimeAmount.seconds(30)

    public init(configuration: Configuration, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        var creates: [ObjectIdentifier: TurnGathering<(channel: String, created: EventLoopPromise<Void>)>] = [:]
        for loop in group.makeIterator() { creates[ObjectIdentifier(loop)] = TurnGathering() }
        self.creates = creates
        var settings = configuration.publisher
        settings.sharded = configuration.cluster != nil
        let loop = group.next()
        // The scripts are loaded at every connect, before any publish is pipelined.
        let connections = RedisClient.Settings(scripts: HeraldPublisher.scripts)
        let clusterClient = configuration.cluster.map {
            RedisClusterClient(seeds: $0, eventLoopGroup: group, settings: connections, logger: logger)
        }
        client =
            clusterClient
            ?? RedisClientGroup(url: configuration.url, eventLoopGroup: group, settings: connections, logger: logger)
        publisher = HeraldPublisher(redis: client, settings: settings)
        presenceShare = RedisPresence(client: client, keys: settings.keys)
        ledger = clusterClient.map { _ in NIOLockedValueBox(ClusterLedger(settings: settings)) }
        let sink = self.sink
        let feeds = ChannelFeeds(
            loop: loop, publisher: publisher, logger: logger, sink: { sink.withLockedValue { $0 } })
        self.feeds = feeds
        let probe = configuration.deliveryProbe.map {
            DeliveryProbeRunner(
                prefix: settings.keys.prefix + (clusterClient == nil ? "probe:" : "{probe:"), interval: $0.interval,
                timeout: $0.timeout, logger: logger)
        }
        self.probe = probe
        let onMessage: RedisSubscriber.MessageHandler = { channel, payload in
            if let probe, probe.isProbe(channel) {
                probe.received(channel, payload: payload)
            } else {
                feeds.received(pubsubChannel: channel, payload: payload)
            }
        }
        if let clusterClient {
            subscriber = RedisClusterSubscriber(
                cluster: clusterClient, eventLoopGroup: loop, logger: logger, onMessage: onMessage)
        } else {
            subscriber = RedisSubscriber(
                url: configuration.url, eventLoopGroup: loop, logger: logger, onMessage: onMessage)
        }
        subscriber.onResubscribed = { feeds.repairAll() }
    }

    public func attach(_ sink: any MessageSink) {
        self.sink.withLockedValue { $0 = sink }
    }

    public var isReady: Bool { client.isConnected && subscriber.isConnected }

    public var isDelivering: Bool { probe?.isDelivering ?? true }

    public var registersMembers: Bool { true }

    public func start(on loop: any EventLoop) {
        // A resharding moved a hosted channel's slot: follow it now, not at the next periodic read.
        (subscriber as? RedisClusterSubscriber)?.onSlotsMoved = { [weak self] in self?.followSlotMap() }
        let started = client.start()
        started.whenFailure { [logger, configuration] error in
            logger.warning(
                "redis not reachable yet; retrying",
                metadata: ["redis.address": "\(configuration.url.address)", "redis.error": "\(error)"])
        }
        // A cluster's shards are known once the client has read the slot map.
        if ledger != nil {
            started.whenSuccess { [subscriber] in _ = subscriber.start() }
        } else {
            _ = subscriber.start()
        }
        refreshStoredMessagesIfOld()
        let task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { [weak self] _ in
            self?.heartbeat()
        }
        timer.withLockedValue { $0 = task }
        if let probe = configuration.deliveryProbe {
            // Often enough that a late probe is noticed within a quarter of the bound.
            let every = TimeAmount.nanoseconds(
                min(max(min(probe.interval, probe.timeout).nanoseconds / 4, 50_000_000), 1_000_000_000))
            let probing = loop.scheduleRepeatedTask(initialDelay: every, delay: every) { [weak self] _ in
                self?.probeDelivery()
            }
            probeTimer.withLockedValue { $0 = probing }
        }
    }

    public func shutdown(on loop: any EventLoop) -> EventLoopFuture<Void> {
        timer.withLockedValue { $0?.cancel() }
        probeTimer.withLockedValue { $0?.cancel() }
        // Leave cleanly: drop this node's counts and membership, then close.
        let counts = reported.withLockedValue { $0 }
        var commands: [[RedisArgument]] = counts.keys.map {
            ["HDEL", RedisArgument(keys.subscribers($0)), RedisArgument(configuration.nodeID)]
        }
        commands.append(["ZREM", RedisArgument(keys.nodes), RedisArgument(configuration.nodeID)])
        let client = self.client
        let subscriber = self.subscriber
        let presence = presenceShare
        return client.send(batch: commands).flatMap { _ in presence.removeOwn() }.hop(to: loop).flatMap { _ in
            subscriber.shutdown().and(client.shutdown()).hop(to: loop).map { _ in () }
        }.flatMapError { _ in
            subscriber.shutdown().and(client.shutdown()).hop(to: loop).map { _ in () }
        }
    }

    // MARK: Errors

    /// Redis failures become the generic 503 (``ProtocolError/engineUnavailable``), and their
    /// detail (which names Redis's address) goes to the log, never to a client; refusals stay what
    /// they are.
    ///
    /// One promise on `loop` does the hop and the mapping together (a `hop` and a
    /// `flatMapErrorThrowing` made two, on every connect's and publish's engine calls).
    private func unavailable<T: Sendable>(_ future: EventLoopFuture<T>, on loop: any EventLoop) -> EventLoopFuture<T> {
        let answer = loop.makePromise(of: T.self)
        future.whenComplete { [self] result in
            switch result {
            case .success(let value): answer.succeed(value)
            case .failure(let error): answer.fail(clientFacing(error))
            }
        }
        return answer.futureResult
    }

    /// What a client may see of `error`.
    private func clientFacing(_ error: any Error) -> any Error {
        if let refusal = error as? ProtocolError { return refusal }
        if error as? PublishError == .notReplicated { return ProtocolError.notReplicated }
        logFailure(error)
        return ProtocolError.engineUnavailable
    }

    private func logFailure(_ error: any Error) {
        let now = NIODeadline.now()
        let due = lastFailureLogged.withLockedValue { last in
            guard last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        logger.warning(
            "redis request failed; answering 503",
            metadata: ["redis.address": "\(configuration.url.address)", "redis.error": "\(error)"])
    }

    // MARK: MessageEngine

    public func publish(_ request: PublishRequest, on loop: any EventLoop) -> EventLoopFuture<[Publication]> {
        let outgoing = HeraldPublisher.Outgoing(
            channels: request.channels, text: request.text, eventID: request.eventID, eventType: request.eventType,
            idempotencyKey: request.idempotencyKey)
        let published = publisher.publish(
            batch: [outgoing], store: request.store, channelInfo: request.channelInfo, refusing: refusal)
        return unavailable(published, on: loop).map { [self] results in
            note(results)
            for result in results where result.id == 1 { recordEvent("channel_created", channel: result.channel) }
            return results.map { result in
                let message = Message(
                    channel: result.channel, id: result.id, time: result.time, tag: result.tag,
                    eventID: request.eventID, eventType: request.eventType, text: request.text)
                let record = result.storedMessages.map {
                    ChannelRecord(
                        channel: result.channel, lastID: result.id, storedMessages: $0, subscribers: result.subscribers)
                }
                return Publication(message: message, record: record)
            }
        }
    }

    public func delete(_ channels: [String], notice: [UInt8], on loop: any EventLoop) -> EventLoopFuture<[String]> {
        let targets = channels.filter { $0 != configuration.eventsChannelID }
        return unavailable(publisher.delete(targets, notice: notice), on: loop).map { [self] deleted in
            if let unlisted = ledger?.withLockedValue({ $0.deleted(deleted) }), !unlisted.isEmpty {
                client.send(batch: unlisted).whenFailure { [self] in logFailure($0) }
            }
            for channel in deleted { recordEvent("channel_destroyed", channel: channel) }
            return deleted
        }
    }

    public func records(_ channels: [String], on loop: any EventLoop) -> EventLoopFuture<[ChannelRecord?]> {
        let read = publisher.records(channels).and(subscriberCounts(channels))
        return unavailable(read, on: loop).map { records, counts in
            zip(records, counts).map { record, count in
                record.map {
                    var record = $0; record.subscribers = count; return record
                }
            }
        }
    }

    public func records(prefix: String, on loop: any EventLoop) -> EventLoopFuture<[ChannelRecord]> {
        let read = publisher.records(prefix: prefix).flatMap { [self] records in
            subscriberCounts(records.map(\.channel)).map { counts in
                zip(records, counts).map { record, count in
                    var record = record
                    record.subscribers = count
                    return record
                }
            }
        }
        return unavailable(read, on: loop)
    }

    public func create(_ channels: [String], on loop: any EventLoop) -> EventLoopFuture<Void> {
        // A subscriber to one channel, on one Redis: created with the others of this loop's turn.
        guard channels.count == 1, ledger == nil, loop.inEventLoop, let gathered = creates[ObjectIdentifier(loop)]
        else { return unavailable(create(channels), on: loop) }
        let created = loop.makePromise(of: Void.self)
        if gathered.add((channels[0], created)) {
            loop.execute { [self] in
                for part in gathered.take(limit: Self.commandsBatch) { sendCreates(part) }
            }
        }
        return created.futureResult
    }

    /// Creates the channels gathered in a loop's turn in one pipelined write, each answered on
    /// its own: in a burst of connects one write of many creates, not a script call and its chain
    /// of callbacks each, and one subscriber's refusal is its own.
    private func sendCreates(_ part: ArraySlice<(channel: String, created: EventLoopPromise<Void>)>) {
        publisher.createEach(part.map(\.channel)).whenComplete { [self] outcome in
            for (entry, index) in zip(part, 0...) {
                switch outcome.flatMap({ $0[index] }) {
                case .success: entry.created.succeed()
                case .failure(let error): entry.created.fail(clientFacing(error))
                }
            }
        }
    }

    /// Creates channels, or keeps them alive; on a cluster, notes them in the ledger.
    private func create(_ channels: [String]) -> EventLoopFuture<Void> {
        guard let ledger else { return publisher.create(channels) }
        let now = UnixClock.milliseconds()
        return publisher.createSharded(channels, refusing: refusal).map { results in
            ledger.withLockedValue { ledger in
                for (channel, result) in zip(channels, results) {
                    ledger.kept(channel, created: result.created, lifetime: result.lifetime, nowMilliseconds: now)
                }
            }
        }
    }

    // MARK: Delivery probe

    /// One round of the pub/sub round-trip check (``DeliveryProbeRunner``), while connected: a
    /// connection that is down already makes the node not ready.
    private func probeDelivery() {
        guard let probe, client.isConnected, subscriber.isConnected else { return }
        let node = configuration.nodeID
        let routes: [DeliveryProbeRunner.Route]
        let command: RedisArgument
        if let cluster = client as? RedisClusterClient {
            let map = cluster.slotMap
            routes = map.masters.compactMap { master in
                // A name whose slot this master serves: a few CRCs, found anew whenever the map moves.
                (0..<10_000).lazy.map { "\(probe.prefix)\(node):\($0)}" }
                    .first { map.master(of: RedisClusterSlots.slot(of: $0)) == master }
                    .map { DeliveryProbeRunner.Route(name: master.description, channel: $0) }
            }
            command = "SPUBLISH"
        } else {
            routes = [DeliveryProbeRunner.Route(name: "redis", channel: probe.prefix + node)]
            command = "PUBLISH"
        }
        probe.tick(
            routes: routes, subscriber: subscriber,
            publish: { [client] route, token in
                client.send([command, RedisArgument(route.channel), RedisArgument(String(token))]).map { _ in () }
            },
            reconnect: { [subscriber, client] route in
                if let shards = subscriber as? RedisClusterSubscriber,
                    let master = (client as? RedisClusterClient)?.slotMap.masters.first(where: {
                        $0.description == route.name
                    })
                {
                    shards.reconnect(master: master)
                } else {
                    (subscriber as? RedisSubscriber)?.reconnect()
                }
            })
    }

    // MARK: Redis Cluster

    /// The kinds of channel a cluster's limits refuse to create now (nothing on one Redis, whose
    /// scripts check the limit themselves).
    private var refusal: HeraldPublisher.NewChannelRefusal {
        ledger?.withLockedValue { $0.refusal } ?? .none
    }

    /// Notes what published messages did, for the lists this node keeps on a cluster.
    private func note(_ results: [PublishedMessage]) {
        guard let ledger else { return }
        let now = UnixClock.milliseconds()
        ledger.withLockedValue { ledger in
            for result in results { ledger.published(result.channel, id: result.id, nowMilliseconds: now) }
        }
    }

    /// Reads the slot map again and moves subscriptions whose slot has a new master (a failover, a
    /// resharding); the moved ones are repaired from the backlogs once subscribed. One at a time.
    private func followSlotMap() {
        guard let cluster = client as? RedisClusterClient, let shards = subscriber as? RedisClusterSubscriber,
            following.withLockedValue({ busy in
                defer { busy = true }
                return !busy
            })
        else { return }
        cluster.refreshSlotMap().flatMap { shards.rebalance() }.whenComplete { [following, logger] result in
            following.withLockedValue { $0 = false }
            if case .failure(let error) = result {
                logger.debug("redis cluster slot map not read", metadata: ["redis.error": "\(error)"])
            }
        }
    }

    public func backlog(_ channel: String, on loop: any EventLoop) -> EventLoopFuture<ChannelBacklog> {
        unavailable(publisher.backlog(channel), on: loop)
    }

    public func host(_ channel: String, on loop: any EventLoop) -> EventLoopFuture<ChannelBacklog?> {
        let feeds = self.feeds
        let subscriber = self.subscriber
        let name = keys.pubsub(channel)
        // One promise for the whole join, completed from plain callbacks, not a chain of futures
        // (`flatSubmit`, `flatMap`, `hop`, `map`, the error mapping): with `unavailable`'s single
        // promise, a connect in a burst went from 256 allocations to 244.
        let hosted = loop.makePromise(of: ChannelBacklog?.self)
        feeds.loop.execute { [self] in
            guard feeds.count(channel, by: 1) else { return hosted.succeed(nil) }
            // Once live, note where the channel stands: a message lost before the first live one
            // (a reconnect on a quiet channel) is then noticed and repaired. This read must come
            // before any other subscriber's catch-up read: one that is ahead of the pub/sub stream
            // seeds the feed past messages still in flight, which the feed then drops as repeats
            // while a subscriber whose read was behind still needs them. It reads the whole
            // backlog, not only the head, so the subscriber that started the hosting catches up
            // from it: a round trip fewer for the first subscriber of a channel on this node, in a
            // reconnect storm after a node's death one for each channel it hosted.
            subscriber.subscribe([name]).whenComplete { [self] subscribed in
                if case .failure(let error) = subscribed { return hosted.fail(clientFacing(error)) }
                readForHosting(channel, hosted)
            }
        }
        return hosted.futureResult
    }

    /// Reads a newly hosted channel's whole backlog at the end of the feeds loop's turn, with
    /// every other channel whose subscription Redis confirmed in that turn: in a reconnect storm
    /// (one `SUBSCRIBE` confirms many channels at once) one pipelined write of many reads, not a
    /// script call of its own for each. Each read still follows its own channel's confirmation.
    private func readForHosting(_ channel: String, _ hosted: EventLoopPromise<ChannelBacklog?>) {
        guard hostingReads.add((channel, hosted)) else { return }
        feeds.loop.execute { [self] in
            for part in hostingReads.take(limit: Self.commandsBatch) { sendHostingReads(part) }
        }
    }

    private func sendHostingReads(_ part: ArraySlice<(channel: String, hosted: EventLoopPromise<ChannelBacklog?>)>) {
        let feeds = self.feeds
        publisher.backlogs(part.map(\.channel)).hop(to: feeds.loop).whenComplete { read in
            for (entry, index) in zip(part, 0...) {
                switch read.flatMap({ $0[index] }) {
                case .failure(let error):
                    entry.hosted.fail(self.clientFacing(error))
                case .success(let backlog):
                    feeds.seed(entry.channel, at: backlog.last)
                    entry.hosted.succeed(backlog)
                }
            }
        }
    }

    public func release(_ channel: String) {
        let feeds = self.feeds
        let subscriber = self.subscriber
        let name = keys.pubsub(channel)
        feeds.loop.execute {
            if !feeds.count(channel, by: -1) { subscriber.unsubscribe([name]) }
        }
    }

    /// Counts kept in Redis, read in O(log n); the stored-messages figure is the last background
    /// walk's (at most ``storedMessagesMaxAge`` plus one walk old), so no answer waits for a walk.
    public func totals(on loop: any EventLoop) -> EventLoopFuture<EngineTotals> {
        refreshStoredMessagesIfOld()
        let read = publisher.totals().map { [storedMessages] totals in
            EngineTotals(
                channels: totals.channels, wildcardChannels: totals.wildcardChannels,
                publishedMessages: totals.publishedMessages,
                storedMessages: storedMessages.withLockedValue { $0.count })
        }
        return unavailable(read, on: loop)
    }

    /// Starts a walk over every channel's backlog length unless one is running or the last is recent.
    private func refreshStoredMessagesIfOld() {
        let now = NIODeadline.now()
        let start = storedMessages.withLockedValue { state in
            guard !state.walking, state.walkedAt.map({ now - $0 >= Self.storedMessagesMaxAge }) ?? true else {
                return false
            }
            state.walking = true
            state.walkedAt = now
            return true
        }
        guard start else { return }
        publisher.records(prefix: "").whenComplete { [storedMessages] result in
            storedMessages.withLockedValue { state in
                state.walking = false
                if case .success(let records) = result {
                    state.count = records.reduce(0) { $0 + Int64($1.storedMessages) }
                } else {
                    state.walkedAt = nil
                }
            }
        }
    }

    public func touch(_ channels: [String]) {}

    // MARK: Presence

    public var sharesPresence: Bool { true }

    public func presence(channel: String, on loop: any EventLoop) -> EventLoopFuture<[String: Int]> {
        unavailable(publisher.presence(channel: channel), on: loop)
    }

    public func presence(user: String, on loop: any EventLoop) -> EventLoopFuture<Int> {
        unavailable(publisher.presence(user: user), on: loop)
    }

    public func recordSubscriberEvent(_ type: String, channel: String, user: String?) {
        recordEvent(type, channel: channel, user: user)
    }

    private func recordEvent(_ type: String, channel: String, user: String? = nil) {
        guard let events = configuration.eventsChannelID, channel != events else { return }
        _ = publisher.publish(
            EventsChannel.text(type: type, channel: channel, user: user), to: [events], eventType: type, store: true)
    }

    // MARK: Membership

    public func members(on loop: any EventLoop) -> EventLoopFuture<[ClusterMember]> {
        let now = Int(UnixClock.milliseconds())
        // A beat every second renews a TTL of heartbeatTTL: more than two seconds without one is stale.
        let freshAfter = now + Int(configuration.heartbeatTTL.nanoseconds / 1_000_000) - 2_000
        let live = client.send(["ZRANGEBYSCORE", RedisArgument(keys.nodes), RedisArgument(now), "+inf", "WITHSCORES"])
        let read = live.flatMap { [client, keys] reply -> EventLoopFuture<[ClusterMember]> in
            let fields = reply.array ?? []
            let pairs = stride(from: 0, to: fields.count - 1, by: 2).compactMap { i -> (String, Bool)? in
                guard let id = fields[i].string, let expiry = fields[i + 1].string.flatMap(Double.init) else {
                    return nil
                }
                return (id, Int(expiry) > freshAfter)
            }
            guard !pairs.isEmpty else { return loop.makeSucceededFuture([]) }
            return client.send(batch: pairs.map { ["HGET", RedisArgument(keys.node($0.0)), "advertise"] }).map {
                replies in
                zip(pairs, replies).compactMap { pair, reply in
                    reply.string.map { ClusterMember(id: pair.0, advertise: $0, fresh: pair.1) }
                }
            }
        }
        return unavailable(read, on: loop)
    }

    public func leave(on loop: any EventLoop) -> EventLoopFuture<Void> {
        left.withLockedValue { $0 = true }
        let node = RedisArgument(configuration.nodeID)
        let sent = client.send(batch: [
            ["ZREM", RedisArgument(keys.nodes), node], ["DEL", RedisArgument(keys.node(configuration.nodeID))],
        ])
        return sent.hop(to: loop).map { _ in () }.recover { _ in () }
    }

    // MARK: Cluster-wide subscriber counts

    /// Subscribers of each channel on every live node.
    private func subscriberCounts(_ channels: [String]) -> EventLoopFuture<[Int]> {
        let now = Int(UnixClock.milliseconds())
        var commands: [[RedisArgument]] = [["ZRANGEBYSCORE", RedisArgument(keys.nodes), RedisArgument(now), "+inf"]]
        commands += channels.map { ["HGETALL", RedisArgument(keys.subscribers($0))] }
        return client.send(batch: commands).map { replies in
            let live = Set((replies[0].array ?? []).compactMap(\.string))
            return replies.dropFirst().map { reply in
                let fields = reply.array ?? []
                var total = 0
                var index = 0
                while index + 1 < fields.count {
                    if let node = fields[index].string, live.contains(node) { total += fields[index + 1].int ?? 0 }
                    index += 2
                }
                return total
            }
        }
    }

    /// Beats between two renewals of the hosted channels that have no message yet: three per
    /// inactivity time, so a channel with subscribers never expires between two.
    private var keepAliveEvery: Int { max(1, Int(configuration.publisher.channelInactivity) / 3) }

    /// A channel created by a subscriber lives for the inactivity time only (see the create
    /// script); while this node has subscribers on it, it is renewed. Channels with messages live
    /// for the retention from their last publish and need nothing.
    private func keepHostedChannelsAlive() {
        feeds.loop.execute { [self] in
            let channels = feeds.channelsWithoutMessages()
            // A refusal (the channel expired meanwhile and the cluster is full) changes nothing
            // here, and the batches after it still renew theirs.
            Self.inBatches(channels[...], on: feeds.loop) { [self] batch in
                create(Array(batch)).recover { _ in () }
            }.whenComplete { _ in }
        }
    }

    /// Most channels one batch of per-channel commands carries (keep-alive renewals, counts).
    static let commandsBatch = 256

    /// Runs `send` over `items` ``commandsBatch`` at a time, each batch once the one before it has
    /// been answered, and fails at the first that fails. Commands for every hosted channel at once
    /// (10,000 keep-alive renewals took about 1 KB a channel while they were built, encoded and
    /// sent) would raise the node's memory for good, since the allocator keeps what it grew to.
    static func inBatches<Item: Sendable>(
        _ items: ArraySlice<Item>, on loop: any EventLoop,
        _ send: @escaping @Sendable (ArraySlice<Item>) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<Void> {
        guard !items.isEmpty else { return loop.makeSucceededVoidFuture() }
        let batch = items.prefix(commandsBatch)
        return send(batch).hop(to: loop).flatMap { inBatches(items.dropFirst(batch.count), on: loop, send) }
    }

    /// Every second: renew membership and write the counts that changed.
    private func heartbeat() {
        guard let sink = sink.withLockedValue({ $0 }) else { return }
        let counts = sink.localSubscriberCounts()
        // Every so often everything is written again, so counts outlive their keys' expiry.
        let round = heartbeats.withLockedValue {
            $0 += 1; return $0
        }
        let previous = reported.withLockedValue { $0 }
        let rewrite = round % 30 == 0 || rewriteCounts.withLockedValue { $0 }
        let node = RedisArgument(configuration.nodeID)
        let now = Int(UnixClock.milliseconds())
        let expiry = now + Int(configuration.heartbeatTTL.nanoseconds / 1_000_000)
        var commands: [[RedisArgument]] = []
        if !left.withLockedValue({ $0 }) {
            commands.append(["ZADD", RedisArgument(keys.nodes), RedisArgument(expiry), node])
            commands.append([
                "HSET", RedisArgument(keys.node(configuration.nodeID)), "advertise",
                RedisArgument(configuration.advertise),
            ])
            commands.append(["PEXPIRE", RedisArgument(keys.node(configuration.nodeID)), RedisArgument(expiry - now)])
        }
        // A count that changed is written; one that is gone is removed (count nil).
        let changed: [(channel: String, count: Int?)] =
            counts.compactMap { channel, count in rewrite || previous[channel] != count ? (channel, count) : nil }
            + previous.keys.compactMap { counts[$0] == nil ? ($0, nil) : nil }
        if round % keepAliveEvery == 0 { keepHostedChannelsAlive() }
        presenceShare.beat(sink, expiry: expiry, registered: !left.withLockedValue { $0 }, on: feeds.loop)
        let rejoined = !left.withLockedValue { $0 }
        let listed = ledger?.withLockedValue { $0.beat(nowMilliseconds: Int64(now)) } ?? []
        if ledger != nil && (round % 10 == 0 || !client.isConnected || !subscriber.isConnected) { followSlotMap() }
        let loop = feeds.loop
        let membership = client.send(batch: commands + listed).hop(to: loop).map {
            [rewriteCounts, ledger] replies in
            // ZADD answering 1 means this node was not registered: Redis lost its data (or this
            // is the first beat). Every count is written again by the next beat that writes counts.
            if rejoined && replies.first?.int == 1 { rewriteCounts.withLockedValue { $0 = true } }
            ledger?.withLockedValue { $0.counted(Array(replies.suffix(2))) }
        }
        // Until every batch is answered the previous counts stay the reported ones, so a failed
        // batch is written again on the next beat. A beat that finds the last one's batches still
        // in flight writes no counts: two beats' writes never interleave, so an older count cannot
        // land after a newer one.
        let writingCounts = countsInFlight.withLockedValue { writing in
            defer { writing = true }
            return writing
        }
        guard !writingCounts else { return }
        let keys = self.keys
        membership.flatMap { [client] in
            Self.inBatches(changed[...], on: loop) { batch in
                // Built in place, each key once: a burst of connects makes a count to write for
                // every new channel.
                var writes: [[RedisArgument]] = []
                writes.reserveCapacity(batch.count * 2)
                for (channel, count) in batch {
                    let key = RedisArgument(keys.subscribers(channel))
                    if let count {
                        writes.append(["HSET", key, node, RedisArgument(count)])
                        writes.append(["EXPIRE", key, 300])
                    } else {
                        writes.append(["HDEL", key, node])
                    }
                }
                return client.send(batch: writes).map { _ in () }
            }
        }.whenComplete { [reported, rewriteCounts, countsInFlight] result in
            if case .success = result {
                reported.withLockedValue { $0 = counts }
                if rewrite { rewriteCounts.withLockedValue { $0 = false } }
            }
            countsInFlight.withLockedValue { $0 = false }
        }
    }
}
