import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Sharded pub/sub over a Redis Cluster: one ``RedisSubscriber`` (`SSUBSCRIBE`) per shard master,
/// each channel subscribed on the master serving its slot, so a message crosses only its shard.
///
/// ``rebalance()`` follows the cluster client's slot map after it changed (a failover, a resharding):
/// a channel whose slot has a new master is subscribed there and left on the old one, masters no
/// longer in the map are let go. The caller then repairs what may have been published meanwhile
/// from the backlogs, as after any reconnect (``onResubscribed`` fires for the new subscriptions).
public final class RedisClusterSubscriber: Sendable {
    private struct State {
        var subscribers: [RedisNodeAddress: RedisSubscriber] = [:]
        /// Where each wanted channel is subscribed.
        var placement: [String: RedisNodeAddress] = [:]
    }

    private let cluster: RedisClusterClient
    private let settings: RedisSubscriber.Settings
    private let group: any EventLoopGroup
    private let logger: Logger
    private let onMessage: RedisSubscriber.MessageHandler
    private let state = NIOLockedValueBox(State())
    private let hooks = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)
    private let slotsMovedHook = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)

    /// - Parameters:
    ///   - cluster: Where the slot map and the masters' credentials come from; started first.
    ///   - settings: As for one subscriber; the commands are always the sharded ones.
    public init(
        cluster: RedisClusterClient, eventLoopGroup: any EventLoopGroup, settings: RedisSubscriber.Settings = .init(),
        logger: Logger, onMessage: @escaping RedisSubscriber.MessageHandler
    ) {
        var settings = settings
        settings.commands = .sharded
        self.cluster = cluster
        self.settings = settings
        self.group = eventLoopGroup
        self.logger = logger
        self.onMessage = onMessage
    }

    /// Called after any shard's subscriber (re)subscribed its whole set: fetch from the backlogs.
    public var onResubscribed: (@Sendable () -> Void)? {
        get { hooks.withLockedValue { $0 } }
        set { hooks.withLockedValue { $0 = newValue } }
    }

    /// Called when a master unsubscribed a wanted channel by itself, because its slot moved (a
    /// resharding): read the slot map again and ``rebalance()`` without waiting for the next
    /// periodic read.
    public var onSlotsMoved: (@Sendable () -> Void)? {
        get { slotsMovedHook.withLockedValue { $0 } }
        set { slotsMovedHook.withLockedValue { $0 = newValue } }
    }

    /// Whether every shard that holds a wanted channel is connected.
    public var isConnected: Bool {
        state.withLockedValue { state in
            Set(state.placement.values).allSatisfy { state.subscribers[$0]?.isConnected == true }
        }
    }

    /// Connects to every master of the current map.
    public func start() -> EventLoopFuture<Void> {
        let masters = cluster.slotMap.masters
        let starts = masters.map { subscriber(at: $0).started }
        return EventLoopFuture.andAllSucceed(starts, on: group.next())
    }

    public func shutdown() -> EventLoopFuture<Void> {
        let subscribers = state.withLockedValue { state -> [RedisSubscriber] in
            defer { state = State() }
            return Array(state.subscribers.values)
        }
        return EventLoopFuture.andAllComplete(subscribers.map { $0.shutdown() }, on: group.next())
    }

    /// Subscribes each channel on its slot's master; succeeds when every master confirmed.
    public func subscribe(_ channels: [String]) -> EventLoopFuture<Void> {
        let loop = group.next()
        var byMaster: [RedisNodeAddress: [String]] = [:]
        let map = cluster.slotMap
        for channel in channels {
            guard let master = map.master(of: RedisClusterSlots.slot(of: channel)) else {
                return loop.makeFailedFuture(RedisError.notConnected)
            }
            byMaster[master, default: []].append(channel)
        }
        state.withLockedValue { state in
            for (master, names) in byMaster { for name in names { state.placement[name] = master } }
        }
        let confirmations = byMaster.map { master, names in
            let (subscriber, started) = self.subscriber(at: master)
            return started.flatMap { subscriber.subscribe(names) }
        }
        return EventLoopFuture.andAllSucceed(confirmations, on: loop)
    }

    public func unsubscribe(_ channels: [String]) {
        let byMaster = state.withLockedValue { state -> [RedisNodeAddress: [String]] in
            var byMaster: [RedisNodeAddress: [String]] = [:]
            for channel in channels {
                guard let master = state.placement.removeValue(forKey: channel) else { continue }
                byMaster[master, default: []].append(channel)
            }
            return byMaster
        }
        for (master, names) in byMaster { state.withLockedValue { $0.subscribers[master] }?.unsubscribe(names) }
    }

    /// Drops the connection to `master` (``RedisSubscriber/reconnect()``).
    public func reconnect(master: RedisNodeAddress) {
        state.withLockedValue { $0.subscribers[master] }?.reconnect()
    }

    /// Moves every channel whose slot changed master to the new one, and lets go of masters the
    /// map no longer names. Completes when the moved channels are confirmed.
    public func rebalance() -> EventLoopFuture<Void> {
        let map = cluster.slotMap
        let (moves, gone) = state.withLockedValue {
            state -> ([String: (RedisNodeAddress, RedisNodeAddress)], [RedisSubscriber]) in
            var moves: [String: (RedisNodeAddress, RedisNodeAddress)] = [:]
            for (channel, master) in state.placement {
                guard let now = map.master(of: RedisClusterSlots.slot(of: channel)), now != master else { continue }
                moves[channel] = (master, now)
            }
            let masters = Set(map.masters)
            let gone = state.subscribers.filter { !masters.contains($0.key) }
            for address in gone.keys { state.subscribers[address] = nil }
            return (moves, Array(gone.values))
        }
        if !moves.isEmpty {
            logger.info("redis cluster slots moved; moving subscriptions", metadata: ["channels": "\(moves.count)"])
        }
        var leaving: [RedisNodeAddress: [String]] = [:]
        for (channel, move) in moves { leaving[move.0, default: []].append(channel) }
        for (master, names) in leaving { state.withLockedValue { $0.subscribers[master] }?.unsubscribe(names) }
        for subscriber in gone { subscriber.shutdown() }
        return subscribe(Array(moves.keys))
    }

    /// The subscriber of `address`, and when it is connected (at once for one already running).
    private func subscriber(
        at address: RedisNodeAddress
    ) -> (subscriber: RedisSubscriber, started: EventLoopFuture<Void>) {
        let (subscriber, created) = state.withLockedValue { state -> (RedisSubscriber, Bool) in
            if let existing = state.subscribers[address] { return (existing, false) }
            let subscriber = RedisSubscriber(
                url: cluster.url(of: address), eventLoopGroup: group, settings: settings, logger: logger,
                onMessage: onMessage)
            subscriber.onResubscribed = { [hooks] in hooks.withLockedValue { $0 }?() }
            subscriber.onDropped = { [slotsMovedHook] _ in slotsMovedHook.withLockedValue { $0 }?() }
            state.subscribers[address] = subscriber
            return (subscriber, true)
        }
        return (subscriber, created ? subscriber.start() : subscriber.eventLoop.makeSucceededVoidFuture())
    }
}
