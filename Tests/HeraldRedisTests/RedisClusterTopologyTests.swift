import HeraldTesting
import NIOCore
import Testing

@testable import HeraldRedis

/// Against a real three-master Redis Cluster: the slot map found from the seeds routes every key
/// to the master that takes it, and the others' `MOVED` names the same master.
@Suite("Redis Cluster topology against a real cluster", .serialized)
struct RedisClusterTopologyTests {
    @Test func theSlotMapRoutesEveryKeyWhereTheClusterServesIt() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        // A dead seed first: discovery goes on to the next.
        let dead = try RedisURL("redis://127.0.0.1:\(try FreePort.pick())")
        let seeds = try [dead] + cluster.seeds.map { try RedisURL($0) }
        let map = try await RedisClusterTopology.discover(seeds: seeds, on: testGroup, logger: quietLogger).get()
        #expect(map.coversAllSlots)
        #expect(Set(map.masters.map(\.port)) == Set(cluster.servers.map { Int($0.port) }))

        var random = SplitMix(seed: 7)
        for index in 0..<120 {
            let key = index % 3 == 0 ? "herald:{ch\(random.next() % 1000)}:log" : "key-\(random.next())"
            let owner = try #require(map.master(of: RedisClusterSlots.slot(of: key)))
            let taken = try await server(owning: owner, in: cluster).command("SET", key, "v")
            #expect(taken.string == "OK", "\(key) on its master \(owner): \(taken)")
            let other = try #require(cluster.servers.first { Int($0.port) != owner.port })
            let refused = try await other.command("SET", key, "v")
            guard case .error(let text) = refused else {
                Issue.record("\(key) on \(other.port): \(refused), not MOVED")
                continue
            }
            let redirection = RedisRedirection(error: text, sender: "127.0.0.1")
            #expect(redirection?.kind == .moved, "\(text)")
            #expect(redirection?.slot == RedisClusterSlots.slot(of: key))
            #expect(redirection?.target.port == owner.port, "\(text)")
        }
    }

    @Test func noSeedAnswering() async throws {
        let seeds = try (0..<2).map { _ in try RedisURL("redis://127.0.0.1:\(try FreePort.pick())") }
        await #expect(throws: RedisError.self) {
            try await RedisClusterTopology.discover(seeds: seeds, on: testGroup, logger: quietLogger).get()
        }
    }

    @Test func aServerWithoutClusterModeGivesNoMap() async throws {
        let plain = try await RedisServerProcess.start()
        defer { plain.stop() }
        await #expect(throws: RedisError.self) {
            try await RedisClusterTopology.discover(
                seeds: [try RedisURL(plain.url)], on: testGroup, logger: quietLogger
            ).get()
        }
    }

    private func server(
        owning address: RedisNodeAddress, in cluster: RedisClusterProcess
    ) throws
        -> RedisServerProcess
    {
        try #require(cluster.servers.first { Int($0.port) == address.port })
    }
}
