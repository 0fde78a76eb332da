import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Commands to a Redis Cluster: each goes to the master serving its key's slot, on one
/// reconnecting connection per master (``RedisClient``); a batch is split by master, pipelined per
/// master, and its replies put back in order.
///
/// A `MOVED` reply (the slot has a new owner: a failover, a resharding) refreshes the slot map from
/// the cluster and sends the command again; an `ASK` (the slot is being migrated and this key
/// already lives on the other side) sends that one command there after `ASKING`, leaving the map
/// as it is. Up to ``maxRedirections`` redirections per command, then its error reply stands.
///
/// The key of a command is the one Redis's command table names for the commands Herald sends:
/// the first key of `EVAL`/`EVALSHA` (all of a script's keys must share its slot), the first
/// argument of the others. `SCRIPT` goes to every master; commands without a key (`PING`, `TIME`,
/// `CLUSTER …`, `INFO`) to the master of slot 0.
public final class RedisClusterClient: Sendable {
    /// Redirections followed for one command before its error reply is returned.
    public static let maxRedirections = 5

    private struct State {
        var map: RedisSlotMap
        var clients: [RedisNodeAddress: RedisClient] = [:]
        var refreshing: EventLoopFuture<Void>?
        var shutDown = false
    }

    private let seeds: [RedisURL]
    private let group: any EventLoopGroup
    private let settings: RedisClient.Settings
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    /// A client for the cluster the seeds belong to; ``start()`` finds its masters.
    public init(
        seeds: [RedisURL], eventLoopGroup: any EventLoopGroup, settings: RedisClient.Settings = .init(),
        logger: Logger
    ) {
        self.seeds = seeds
        self.group = eventLoopGroup
        self.settings = settings
        self.logger = logger
        self.state = NIOLockedValueBox(State(map: RedisSlotMap(ranges: [])))
    }

    /// A client that starts from `map` (tests: a stale map must heal itself through `MOVED`).
    convenience init(
        seeds: [RedisURL], map: RedisSlotMap, eventLoopGroup: any EventLoopGroup, settings: RedisClient.Settings,
        logger: Logger
    ) {
        self.init(seeds: seeds, eventLoopGroup: eventLoopGroup, settings: settings, logger: logger)
        state.withLockedValue { $0.map = map }
    }

    /// The slot map in use.
    public var slotMap: RedisSlotMap { state.withLockedValue { $0.map } }

    /// Finds the masters (unless a map was given) and connects to each.
    public func start() -> EventLoopFuture<Void> {
        let loop = group.next()
        if state.withLockedValue({ $0.map.coversAllSlots }) {
            return connectMasters(on: loop)
        }
        return refresh(on: loop)
    }

    /// Reads the slot map again now (after a failover the subscribers noticed, say); a `MOVED`
    /// does this by itself.
    public func refreshSlotMap() -> EventLoopFuture<Void> {
        refresh(on: group.next())
    }

    /// Closes every master's connection.
    public func shutdown() -> EventLoopFuture<Void> {
        let clients = state.withLockedValue { state -> [RedisClient] in
            state.shutDown = true
            return Array(state.clients.values)
        }
        let loop = group.next()
        return EventLoopFuture.andAllComplete(clients.map { $0.shutdown() }, on: loop)
    }

    /// Whether every master's connection is up.
    public var isConnected: Bool {
        state.withLockedValue { state in
            !state.clients.isEmpty && state.map.masters.allSatisfy { state.clients[$0]?.isConnected == true }
        }
    }

    // MARK: Routing

    /// The slot a command's key hashes to; nil for a command without a key.
    static func slot(of command: [RedisArgument]) -> Int? {
        guard let name = command.first.map({ String(decoding: $0.bytes, as: UTF8.self).uppercased() }) else {
            return nil
        }
        switch name {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard command.count > 3, let count = Int(String(decoding: command[2].bytes, as: UTF8.self)), count > 0
            else { return nil }
            return RedisClusterSlots.slot(of: command[3].bytes)
        case "PING", "TIME", "INFO", "CLUSTER", "SCRIPT", "ECHO", "DBSIZE", "CLIENT", "HELLO", "AUTH", "SELECT":
            return nil
        default:
            return command.count > 1 ? RedisClusterSlots.slot(of: command[1].bytes) : nil
        }
    }

    private func client(for slot: Int?) throws -> RedisClient {
        try state.withLockedValue { state in
            guard let master = state.map.master(of: slot ?? 0), let client = state.clients[master] else {
                throw RedisError.notConnected
            }
            return client
        }
    }

    /// The client of `address`, connecting to it first if it is new (a master announced by `ASK`).
    private func client(at address: RedisNodeAddress) -> RedisClient {
        let (client, created) = state.withLockedValue { state -> (RedisClient, Bool) in
            if let client = state.clients[address] { return (client, false) }
            let client = RedisClient(url: url(of: address), eventLoopGroup: group, settings: settings, logger: logger)
            state.clients[address] = client
            return (client, true)
        }
        if created { client.start() }
        return client
    }

    /// A master's URL: its address, with the seeds' credentials.
    func url(of address: RedisNodeAddress) -> RedisURL {
        var url = seeds.first ?? RedisURL(host: address.host)
        url.host = address.host
        url.port = address.port
        url.database = 0  // a cluster has only database 0
        return url
    }

    private func connectMasters(on loop: any EventLoop) -> EventLoopFuture<Void> {
        let masters = state.withLockedValue { $0.map.masters }
        let starts = masters.map { client(at: $0).start() }
        return EventLoopFuture.andAllSucceed(starts, on: loop)
    }

    /// Reads the slot map again from the masters known, then the seeds; concurrent callers share
    /// one refresh.
    private func refresh(on loop: any EventLoop) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        let (ongoing, sources) = state.withLockedValue { state -> (EventLoopFuture<Void>?, [RedisURL]) in
            if let refreshing = state.refreshing { return (refreshing, []) }
            state.refreshing = promise.futureResult
            return (nil, state.map.masters.map(url(of:)) + seeds)
        }
        if let ongoing {
            ongoing.cascade(to: promise)
            return promise.futureResult
        }
        RedisClusterTopology.discover(seeds: sources, on: group, logger: logger).whenComplete { [self] result in
            switch result {
            case .success(let map):
                let gone = state.withLockedValue { state -> [RedisClient] in
                    state.map = map
                    state.refreshing = nil
                    let masters = Set(map.masters)
                    let gone = state.clients.filter { !masters.contains($0.key) }
                    for address in gone.keys { state.clients[address] = nil }
                    return Array(gone.values)
                }
                for client in gone { client.shutdown() }
                connectMasters(on: loop).cascade(to: promise)
            case .failure(let error):
                state.withLockedValue { $0.refreshing = nil }
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    // MARK: Redirections

    private func send(_ command: [RedisArgument], redirections: Int) -> EventLoopFuture<RESPValue> {
        let loop = group.next()
        let client: RedisClient
        do { client = try self.client(for: Self.slot(of: command)) } catch {
            // No master known for the slot: find out, then try once more.
            guard redirections < Self.maxRedirections else { return loop.makeFailedFuture(error) }
            return refresh(on: loop).flatMap { self.send(command, redirections: redirections + 1) }
        }
        return client.send(command).flatMapError { error in
            self.redirect(command, error: error, from: client, redirections: redirections, on: loop)
        }
    }

    private func redirect(
        _ command: [RedisArgument], error: any Error, from client: RedisClient, redirections: Int,
        on loop: any EventLoop
    ) -> EventLoopFuture<RESPValue> {
        guard redirections < Self.maxRedirections, let message = (error as? RedisError)?.serverMessage,
            let redirection = RedisRedirection(error: message, sender: client.url.host)
        else { return loop.makeFailedFuture(error) }
        switch redirection.kind {
        case .moved:
            logger.debug(
                "redis cluster slot moved; refreshing the slot map",
                metadata: ["redis.slot": "\(redirection.slot)", "redis.address": "\(redirection.target)"])
            return refresh(on: loop).flatMap { self.send(command, redirections: redirections + 1) }
        case .ask:
            // ASKING and the command in one write on the target's connection: nothing comes between.
            return self.client(at: redirection.target).send(batch: [["ASKING"], command]).flatMapThrowing { replies in
                guard replies.count == 2 else { throw RedisError.protocolViolation("ASKING answered \(replies)") }
                if case .error(let text) = replies[1] {
                    throw RedisError.server(text).at(redirection.target.description)
                }
                return replies[1]
            }
        }
    }
}

extension RedisClusterClient: RedisCommandExecutor {
    public func send(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue> {
        if let name = arguments.first, String(decoding: name.bytes, as: UTF8.self).uppercased() == "SCRIPT" {
            return sendToEveryMaster(arguments)
        }
        return send(arguments, redirections: 0)
    }

    /// Commands grouped by master, each group in one write; replies in the commands' order. A
    /// reply that is a redirection is followed for its command alone.
    public func send(batch commands: [[RedisArgument]]) -> EventLoopFuture<[RESPValue]> {
        let loop = group.next()
        var groups: [ObjectIdentifier: (client: RedisClient, indices: [Int])] = [:]
        for (index, command) in commands.enumerated() {
            guard let client = try? client(for: Self.slot(of: command)) else {
                // No master known for some slot: one by one, each finding its way.
                return sendOneByOne(commands, on: loop)
            }
            groups[ObjectIdentifier(client), default: (client, [])].indices.append(index)
        }
        let parts = groups.values.map { group in
            group.client.send(batch: group.indices.map { commands[$0] }).map { (group.indices, $0, group.client) }
        }
        return EventLoopFuture.whenAllSucceed(parts, on: loop).flatMap { results in
            var replies = [RESPValue](repeating: .null, count: commands.count)
            var redirected: [EventLoopFuture<(Int, RESPValue)>] = []
            for (indices, values, client) in results {
                for (index, value) in zip(indices, values) {
                    if case .error(let text) = value, RedisRedirection(error: text, sender: client.url.host) != nil {
                        let error = RedisError.server(text)
                        redirected.append(
                            self.redirect(commands[index], error: error, from: client, redirections: 0, on: loop)
                                .map { (index, $0) }
                                .recover { error in
                                    (index, .error((error as? RedisError)?.serverMessage ?? "\(error)"))
                                })
                    } else {
                        replies[index] = value
                    }
                }
            }
            let answered = replies
            return EventLoopFuture.whenAllSucceed(redirected, on: loop).map { followed in
                var replies = answered
                for (index, value) in followed { replies[index] = value }
                return replies
            }
        }
    }

    /// The batch, then a `WAIT` on each master it went to, right behind its commands on that
    /// master's connection.
    public func send(
        batch commands: [[RedisArgument]], replicas: Int, timeout: Int
    ) -> EventLoopFuture<(replies: [RESPValue], replicated: Bool)> {
        let loop = group.next()
        var masters: [ObjectIdentifier: RedisClient] = [:]
        for command in commands {
            if let client = try? client(for: Self.slot(of: command)) { masters[ObjectIdentifier(client)] = client }
        }
        let sent = send(batch: commands)
        let wait: [RedisArgument] = ["WAIT", RedisArgument(replicas), RedisArgument(timeout)]
        let waits = masters.values.map { $0.send(wait).map { ($0.int ?? 0) >= replicas }.recover { _ in false } }
        let anyMaster = !masters.isEmpty
        return sent.and(EventLoopFuture.whenAllSucceed(waits, on: loop)).map { replies, acknowledged in
            (replies, anyMaster && acknowledged.allSatisfy { $0 })
        }
    }

    private func sendOneByOne(_ commands: [[RedisArgument]], on loop: any EventLoop) -> EventLoopFuture<[RESPValue]> {
        let each = commands.map { command in
            send(command, redirections: 0).recover { error in
                .error((error as? RedisError)?.serverMessage ?? "\(error)")
            }
        }
        return EventLoopFuture.whenAllSucceed(each, on: loop)
    }

    /// `SCRIPT LOAD` (and the rest of `SCRIPT`) on every master: a script must be cached wherever
    /// its keys may live. The first master's reply is returned.
    private func sendToEveryMaster(_ command: [RedisArgument]) -> EventLoopFuture<RESPValue> {
        let loop = group.next()
        let clients = state.withLockedValue { state in state.map.masters.compactMap { state.clients[$0] } }
        guard !clients.isEmpty else { return loop.makeFailedFuture(RedisError.notConnected) }
        return EventLoopFuture.whenAllSucceed(clients.map { $0.send(command) }, on: loop).map { $0[0] }
    }
}
