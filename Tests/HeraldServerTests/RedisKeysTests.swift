import HeraldPublisher
import Testing

/// The key names are a contract with publishers that write to Redis directly (docs/REDIS.md).
@Suite struct RedisKeysTests {
    @Test func everyKeyIsNamedAsDocumented() {
        let keys = RedisKeys(prefix: "app:")
        #expect(keys.meta("news") == "app:{news}:meta")
        #expect(keys.log("news") == "app:{news}:log")
        #expect(keys.subscribers("news") == "app:{news}:subscribers")
        #expect(keys.pubsub("news") == "app:{news}:pub")
        #expect(keys.presence("news") == "app:{news}:presence")
        #expect(keys.idempotency("news", key: "k1") == "app:{news}:idem:k1")
        #expect(keys.channels == "app:channels")
        #expect(keys.live == "app:live")
        #expect(keys.liveWildcard == "app:live:wildcard")
        #expect(keys.stats == "app:stats")
        #expect(keys.nodes == "app:nodes")
        #expect(keys.runs == "app:runs")
        #expect(keys.node("n1") == "app:node:n1")
        #expect(keys.userPresence("ada") == "app:presence:{ada}")
        #expect(keys.runPresence("r1") == "app:run:r1:presence")
    }

    @Test func channelNamesOfAnyLengthAndScriptKeepTheirBytes() {
        let keys = RedisKeys()
        for channel in ["", "a", "ünïcödé/チャンネル", String(repeating: "x", count: 300)] {
            #expect(keys.meta(channel) == "herald:{" + channel + "}:meta")
            #expect(keys.channel(fromPubsub: keys.pubsub(channel)) == channel)
        }
        #expect(RedisKeys(prefix: "").meta("c") == "{c}:meta")
    }
}
