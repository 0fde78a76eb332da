import HeraldTesting
import NIOCore
import Testing

@testable import HeraldRedis

/// The cluster client against a real three-master Redis Cluster: commands reach their slot's
/// master, batches keep their order across masters, scripts run wherever their keys live, a stale
/// map heals through `MOVED`, and a slot being migrated is followed through `ASK`.
@Suite("Redis Cluster client against a real cluster", .serialized)
struct RedisClusterClientTests {
    static func client(_ cluster: RedisClusterProcess, map: RedisSlotMap? = nil) async throws -> RedisClusterClient {
        let seeds = try cluster.seeds.map { try RedisURL($0) }
        let client =
            map.map {
                RedisClusterClient(
                    seeds: seeds, map: $0, eventLoopGroup: testGroup, settings: .init(), logger: quietLogger)
            } ?? RedisClusterClient(seeds: seeds, eventLoopGroup: testGroup, logger: quietLogger)
        try await client.start().get()
        return client
    }

    @Test func commandsBatchesAndScriptsReachTheirSlotsMasters() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let client = try await Self.client(cluster)
        defer { _ = client.shutdown() }
        #expect(client.isConnected)
        let keys = (0..<90).map { "k\($0)" }
        for key in keys {
            #expect(try await client.send(["SET", RedisArgument(key), RedisArgument("v-" + key)]).get().string == "OK")
        }
        // Every master got some: the keys really are spread.
        for server in cluster.servers {
            #expect((try await server.command("DBSIZE").integer ?? 0) > 0, "master \(server.port) got no key")
        }
        let replies = try await client.send(batch: keys.map { ["GET", RedisArgument($0)] }).get()
        #expect(replies.map(\.string) == keys.map { "v-" + $0 })

        let script = RedisScript("return KEYS[1] .. ARGV[1]")
        for key in ["herald:{a}:meta", "herald:{b}:meta", "herald:{c}:meta", "x", "y", "z"] {
            let reply = try await client.evalScript(script, keys: [RedisArgument(key)], arguments: ["!"]).get()
            #expect(reply.string == key + "!")
        }
        #expect(try await client.scriptLoad(script).get() == script.sha1)
        for server in cluster.servers {
            let cached = try await server.command("SCRIPT", "EXISTS", script.sha1)
            #expect(cached.array?.first?.integer == 1, "script not loaded on \(server.port)")
        }
    }

    @Test func aStaleMapHealsThroughMoved() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let seeds = try cluster.seeds.map { try RedisURL($0) }
        let truth = try await RedisClusterTopology.discover(seeds: seeds, on: testGroup, logger: quietLogger).get()
        // Every range handed to the next master: each command first reaches the wrong one.
        let masters = truth.masters
        let wrong = RedisSlotMap(
            ranges: truth.ranges.map { range in
                let next = masters[(masters.firstIndex(of: range.master)! + 1) % masters.count]
                return .init(first: range.first, last: range.last, master: next)
            })
        let client = try await Self.client(cluster, map: wrong)
        defer { _ = client.shutdown() }
        #expect(try await client.send(["SET", "moved-key", "v"]).get().string == "OK")
        #expect(client.slotMap == truth)
        let replies = try await client.send(batch: (0..<30).map { ["SET", RedisArgument("m\($0)"), "v"] }).get()
        #expect(replies.allSatisfy { $0.string == "OK" }, "\(replies)")
    }

    @Test func aSlotBeingMigratedIsFollowedThroughAsk() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let client = try await Self.client(cluster)
        defer { _ = client.shutdown() }
        let key = "ask-key"
        let slot = RedisClusterSlots.slot(of: key)
        let owner = try #require(client.slotMap.master(of: slot))
        let source = try #require(cluster.servers.first { Int($0.port) == owner.port })
        let destination = try #require(cluster.servers.first { Int($0.port) != owner.port })
        let sourceID = try #require(try await source.command("CLUSTER", "MYID").string)
        let destinationID = try #require(try await destination.command("CLUSTER", "MYID").string)
        #expect(try await destination.command("CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", sourceID).string == "OK")
        #expect(try await source.command("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", destinationID).string == "OK")

        // The key is not on the source: it answers ASK, and the write lands on the destination.
        #expect(try await client.send(["SET", RedisArgument(key), "moved-along"]).get().string == "OK")
        // The source still does not have it (it sends anyone who asks on, with ASK).
        let atSource = try await source.command("GET", key)
        #expect("\(atSource)".contains("ASK \(slot)"), "\(atSource)")
        let direct = try RedisTestClient(port: destination.port)
        defer { direct.close() }
        _ = try direct.command(["ASKING"])
        #expect(try direct.command(["GET", key]).string == "moved-along")
        #expect(client.slotMap.master(of: slot) == owner, "ASK leaves the map as it is")
    }

    @Test func aShardedSubscriberTakesChannelsOfManySlotsAtOnce() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let client = try await Self.client(cluster)
        defer { _ = client.shutdown() }
        let master = cluster.servers[0]
        // Channels of different slots, all served by the first master.
        let channels = (0..<400).map { "herald:{ch\($0)}:pub" }.filter {
            client.slotMap.master(of: RedisClusterSlots.slot(of: $0))?.port == Int(master.port)
        }.prefix(12)
        #expect(Set(channels.map { RedisClusterSlots.slot(of: $0) }).count == channels.count)
        var settings = RedisSubscriberTests.fast
        settings.commands = .sharded
        let (subscriber, messages) = RedisSubscriberTests.makeSubscriber(master, settings: settings)
        try await subscriber.start().get()
        defer { _ = subscriber.shutdown() }
        try await subscriber.subscribe(Array(channels)).get()
        for channel in channels {
            _ = try await client.send(["SPUBLISH", RedisArgument(channel), RedisArgument("to " + channel)]).get()
        }
        try await eventually("every channel's message") { messages.count == channels.count }
        #expect(Set(messages.values.map(\.channel)) == Set(channels))
    }

    @Test func shardedSubscriptionsFollowTheirSlotsToANewMaster() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let client = try await Self.client(cluster)
        defer { _ = client.shutdown() }
        let messages = Recorder<String>()
        let subscriber = RedisClusterSubscriber(
            cluster: client, eventLoopGroup: testGroup, settings: RedisSubscriberTests.fast, logger: quietLogger
        ) { channel, payload in
            messages.record(channel + "=" + String(decoding: payload.readableBytesView, as: UTF8.self))
        }
        try await subscriber.start().get()
        defer { _ = subscriber.shutdown() }
        let channels = (0..<30).map { "herald:{c\($0)}:pub" }
        try await subscriber.subscribe(channels).get()
        #expect(subscriber.isConnected)
        #expect(Set(channels.compactMap { client.slotMap.master(of: RedisClusterSlots.slot(of: $0)) }).count == 3)
        for channel in channels { _ = try await client.send(["SPUBLISH", RedisArgument(channel), "1"]).get() }
        try await eventually("a message on every channel") { messages.count == channels.count }

        // One channel's slot is handed to another master (it holds no key: a plain reassignment).
        let moved = channels[0]
        let slot = RedisClusterSlots.slot(of: moved)
        let from = try #require(client.slotMap.master(of: slot))
        let to = try #require(cluster.servers.first { Int($0.port) != from.port })
        let toID = try #require(try await to.command("CLUSTER", "MYID").string)
        for server in cluster.servers {
            _ = try await server.command("CLUSTER", "SETSLOT", "\(slot)", "NODE", toID)
        }
        try await eventually("the cluster agrees") {
            try await client.refreshSlotMap().get()
            return client.slotMap.master(of: slot)?.port == Int(to.port)
        }
        try await subscriber.rebalance().get()
        _ = try await client.send(["SPUBLISH", RedisArgument(moved), "2"]).get()
        try await eventually("the moved channel's message from its new master") {
            messages.values.contains(moved + "=2")
        }
        _ = try await client.send(["SPUBLISH", RedisArgument(channels[1]), "2"]).get()
        try await eventually("the others unchanged") { messages.values.contains(channels[1] + "=2") }
    }
}
