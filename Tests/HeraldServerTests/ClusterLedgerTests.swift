import HeraldPublisher
import HeraldRedis
import Testing

@testable import HeraldServer

/// The lists a node keeps for a Redis Cluster: what it writes each beat, and when it refuses
/// new channels.
@Suite struct ClusterLedgerTests {
    static func ledger(max: Int? = nil, maxWildcard: Int? = nil) -> ClusterLedger {
        var settings = HeraldPublisher.Settings()
        settings.wildcardChannelPrefix = "bc:"
        settings.channelRetention = 100
        settings.maxNumberOfChannels = max
        settings.maxNumberOfWildcardChannels = maxWildcard
        return ClusterLedger(settings: settings)
    }

    static func text(_ commands: [[RedisArgument]]) -> [String] {
        commands.map { $0.map { String(decoding: $0.bytes, as: UTF8.self) }.joined(separator: " ") }
    }

    @Test func aBeatListsNewChannelsInOrderAndMovesExpiriesForward() {
        var ledger = Self.ledger()
        ledger.published("b", id: 1, nowMilliseconds: 5_000)
        ledger.published("a", id: 1, nowMilliseconds: 5_001)
        ledger.published("a", id: 2, nowMilliseconds: 6_000)
        ledger.published("old", id: 9, nowMilliseconds: 6_000)
        ledger.kept("bc:all", created: true, lifetime: 30, nowMilliseconds: 6_500)
        #expect(
            Self.text(ledger.beat(nowMilliseconds: 7_000)) == [
                "ZADD herald:channels NX 5000 b 5001 a 6500 bc:all",
                "ZADD herald:live GT 106 a 105 b 106 old",
                "ZADD herald:live:wildcard GT 36 bc:all",
                "HINCRBY herald:stats published_messages 4",
                "ZREMRANGEBYSCORE herald:live -inf 7",
                "ZREMRANGEBYSCORE herald:live:wildcard -inf 7",
                "ZCARD herald:live",
                "ZCARD herald:live:wildcard",
            ])
        // Drained: the next beat only cleans and counts.
        #expect(Self.text(ledger.beat(nowMilliseconds: 8_000)).count == 4)
    }

    @Test func aKeptChannelNeverLivesShorterThanItsLastPublishSays() {
        var ledger = Self.ledger()
        ledger.published("a", id: 3, nowMilliseconds: 1_000)
        ledger.kept("a", created: false, lifetime: 30, nowMilliseconds: 2_000)
        #expect(Self.text(ledger.beat(nowMilliseconds: 2_000)).first == "ZADD herald:live GT 101 a")
    }

    @Test func deletedChannelsLeaveTheListsAtOnceAndAreNotWrittenBack() {
        var ledger = Self.ledger()
        ledger.published("gone", id: 1, nowMilliseconds: 1_000)
        #expect(
            Self.text(ledger.deleted(["gone"])) == [
                "ZREM herald:channels gone", "ZREM herald:live gone", "ZREM herald:live:wildcard gone",
            ])
        #expect(ledger.deleted([]).isEmpty)
        #expect(!Self.text(ledger.beat(nowMilliseconds: 1_500)).contains { $0.contains(" gone") })
    }

    @Test func manyChannelsGoInChunks() {
        var ledger = Self.ledger()
        for index in 0..<(ClusterLedger.chunk + 1) {
            ledger.published("c\(index)", id: 1, nowMilliseconds: 1_000)
        }
        let commands = Self.text(ledger.beat(nowMilliseconds: 1_000))
        #expect(commands.filter { $0.hasPrefix("ZADD herald:channels") }.count == 2)
        #expect(commands.filter { $0.hasPrefix("ZADD herald:live ") }.count == 2)
    }

    @Test func fullCountsRefuseNewChannelsOfTheirKindOnly() {
        var ledger = Self.ledger(max: 3, maxWildcard: 1)
        ledger.counted([.integer(2), .integer(0)])
        #expect(ledger.refusal == .none)
        ledger.counted([.integer(3), .integer(0)])
        #expect(ledger.refusal == HeraldPublisher.NewChannelRefusal(channels: true))
        ledger.counted([.integer(1), .integer(1)])
        #expect(ledger.refusal == HeraldPublisher.NewChannelRefusal(wildcardChannels: true))
        // A failed count leaves the last view.
        ledger.counted([.error("LOADING"), .integer(0)])
        #expect(ledger.refusal == HeraldPublisher.NewChannelRefusal(wildcardChannels: true))
        var unlimited = Self.ledger()
        unlimited.counted([.integer(1_000_000), .integer(1_000_000)])
        #expect(unlimited.refusal == .none)
    }
}
