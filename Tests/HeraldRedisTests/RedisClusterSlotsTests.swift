import HeraldTesting
import Testing

@testable import HeraldRedis

@Suite("Redis Cluster slots, slot maps and redirections")
struct RedisClusterSlotsTests {
    @Test func crc16IsRedisClustersXmodem() {
        // The check value of CRC-16/XMODEM, which the cluster specification names.
        #expect(RedisClusterSlots.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(RedisClusterSlots.crc16([]) == 0)
    }

    @Test(
        "hash tags",
        arguments: [
            ("{user1000}.following", "user1000"), ("{user1000}.followers", "user1000"),
            ("foo{}{bar}", "foo{}{bar}"),  // an empty tag: the whole key
            ("foo{{bar}}zap", "{bar"),  // from the first { to the first } after it
            ("foo{bar}{zap}", "bar"), ("herald:{news}:log", "news"), ("herald:{news}:pub", "news"),
            ("no-tag", "no-tag"), ("open{only", "open{only"), ("close}only{", "close}only{"),
        ])
    func hashTags(key: String, hashed: String) {
        #expect(RedisClusterSlots.slot(of: key) == RedisClusterSlots.slot(of: Array(hashed.utf8)))
    }

    /// Every key shape against what a real cluster-enabled redis-server says (`CLUSTER KEYSLOT`).
    @Test func slotsAgreeWithRedis() async throws {
        let server = try await RedisServerProcess.start(arguments: ["--cluster-enabled", "yes"])
        defer { server.stop() }
        let client = try RedisTestClient(port: server.port)
        defer { client.close() }
        var random = SplitMix(seed: 12)
        let alphabet = Array("ab{}:x9é ".utf8)
        var keys = ["foo", "bar", "hello", "", "{", "}", "{}", "{a}", "a{b}c{d}", "herald:{user:42}:meta"]
        for _ in 0..<1_500 {
            let length = Int(random.next() % 12)
            keys.append(
                String(
                    decoding: (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] },
                    as: UTF8.self))
        }
        for key in keys {
            let answer = try client.command(["CLUSTER", "KEYSLOT", key]).integer
            #expect(answer == RedisClusterSlots.slot(of: key), "key \(key.debugDescription)")
        }
    }

    static func entry(_ first: Int, _ last: Int, _ host: String, _ port: Int) -> RESPValue {
        .array([
            .integer(first), .integer(last),
            .array([.bulkString(Array(host.utf8)), .integer(port), .bulkString(Array("id".utf8))]),
            .array([.bulkString(Array("replica".utf8)), .integer(port + 1000)]),
        ])
    }

    @Test func slotMapRoutesEverySlotToItsMaster() throws {
        let reply = RESPValue.array([
            Self.entry(10_923, 16_383, "10.0.0.3", 7002), Self.entry(0, 5_460, "10.0.0.1", 7000),
            Self.entry(5_461, 10_922, "", 7001),
        ])
        let map = try #require(RedisSlotMap(clusterSlots: reply, seedHost: "10.0.0.9"))
        #expect(map.coversAllSlots)
        #expect(map.master(of: 0) == RedisNodeAddress(host: "10.0.0.1", port: 7000))
        #expect(map.master(of: 5_460) == RedisNodeAddress(host: "10.0.0.1", port: 7000))
        #expect(map.master(of: 5_461) == RedisNodeAddress(host: "10.0.0.9", port: 7001), "empty host: the seed")
        #expect(map.master(of: 16_383) == RedisNodeAddress(host: "10.0.0.3", port: 7002))
        #expect(map.master(of: 16_384) == nil)
        #expect(map.masters.map(\.port) == [7000, 7001, 7002])
        for slot in stride(from: 0, to: RedisClusterSlots.count, by: 97) {
            let expected = slot <= 5_460 ? 7000 : slot <= 10_922 ? 7001 : 7002
            #expect(map.master(of: slot)?.port == expected)
        }
    }

    @Test func slotMapsWithHolesOverlapsOrOtherShapes() {
        let holed = RedisSlotMap(
            clusterSlots: .array([Self.entry(0, 99, "a", 1), Self.entry(200, 16_383, "b", 2)]), seedHost: "s")
        #expect(holed?.coversAllSlots == false)
        #expect(holed?.master(of: 150) == nil)
        #expect(holed?.master(of: 200)?.host == "b")
        let overlapping: RESPValue = .array([Self.entry(0, 100, "a", 1), Self.entry(100, 16_383, "b", 2)])
        #expect(RedisSlotMap(clusterSlots: overlapping, seedHost: "s") == nil)
        #expect(RedisSlotMap(clusterSlots: .array([Self.entry(0, 16_384, "a", 1)]), seedHost: "s") == nil)
        #expect(RedisSlotMap(clusterSlots: .array([Self.entry(5, 4, "a", 1)]), seedHost: "s") == nil)
        #expect(
            RedisSlotMap(clusterSlots: .error("ERR This instance has cluster support disabled"), seedHost: "s") == nil)
        #expect(RedisSlotMap(clusterSlots: .array([.array([.integer(0)])]), seedHost: "s") == nil)
        #expect(RedisSlotMap(clusterSlots: .array([]), seedHost: "s")?.coversAllSlots == false)
    }

    @Test(
        "redirections",
        arguments: [
            (
                "MOVED 3999 127.0.0.1:6381",
                RedisRedirection(kind: .moved, slot: 3999, target: .init(host: "127.0.0.1", port: 6381))
            ),
            ("ASK 0 [::1]:7000", RedisRedirection(kind: .ask, slot: 0, target: .init(host: "::1", port: 7000))),
            (
                "MOVED 16383 :7002",
                RedisRedirection(kind: .moved, slot: 16_383, target: .init(host: "sender", port: 7002))
            ),
            (
                "MOVED 12182 redis-3.internal:6379",
                RedisRedirection(kind: .moved, slot: 12_182, target: .init(host: "redis-3.internal", port: 6379))
            ),
        ])
    func redirections(text: String, expected: RedisRedirection) {
        #expect(RedisRedirection(error: text, sender: "sender") == expected)
    }

    @Test(arguments: [
        "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:0", "TRYAGAIN later", "ERR MOVED",
        "NOSCRIPT No matching script", "ASK 1 h:1 extra",
    ])
    func notRedirections(text: String) {
        #expect(RedisRedirection(error: text, sender: "s") == nil)
    }
}
