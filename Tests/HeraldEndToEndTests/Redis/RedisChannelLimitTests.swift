import Foundation
import HeraldTesting
import Testing

/// Channels in Redis: how many may exist (cluster-wide), and how long one a subscriber created
/// outlives its last subscriber.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisChannelLimitTests {
    static let refusal = "Number of channels were exceeded."

    @Test func theChannelLimitHoldsAcrossTheCluster() async throws {
        let bed = try await RedisTestbed.start(arguments: ["--max-number-of-channels", "3"])
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let one = try await HTTPStream.connect(port: a.port, "/ev/one")
        defer { one.close() }
        let two = try await HTTPStream.connect(port: b.port, "/ev/two")
        defer { two.close() }
        #expect(one.status == 200 && two.status == 200)
        try await a.publish("three", "x")

        let subscriber = try await b.get("/sub/four")
        #expect(subscriber.status == 403, "\(subscriber)")
        #expect(subscriber.explain == Self.refusal)
        let publish = try await a.admin("POST", "/pub?id=four", body: Array("x".utf8))
        #expect(publish.status == 403, "\(publish)")
        #expect(publish.explain == Self.refusal)
        // Existing channels stay usable.
        try await b.publish("one", "still open")
        #expect(try await one.readUntil(contains: "still open"))
        // A deleted channel makes room.
        #expect(try await a.admin("DELETE", "/pub?id=three").status == 200)
        try await b.publish("four", "now there is room")
        let stats = try await a.stats()
        #expect(JSON.int(try JSON.object(stats.body)["channels"]) == 3, "\(stats.text)")
    }

    /// Subscribers arriving together are created together: those past the limit are refused,
    /// each on its own, and the rest get their streams.
    @Test func subscribersArrivingTogetherPastTheLimitAreRefusedOneByOne() async throws {
        let bed = try await RedisTestbed.start(nodes: 1, arguments: ["--max-number-of-channels", "5"])
        defer { bed.stop() }
        let streams = try await withThrowingTaskGroup(of: HTTPStream.self) { group in
            for index in 0..<12 {
                group.addTask { try await HTTPStream.connect(port: bed.a.port, "/ev/crowd\(index)") }
            }
            var streams: [HTTPStream] = []
            for try await stream in group { streams.append(stream) }
            return streams
        }
        defer { for stream in streams { stream.close() } }
        #expect(streams.filter { $0.status == 200 }.count == 5, "\(streams.map(\.status))")
        #expect(streams.filter { $0.status == 403 }.count == 7, "\(streams.map(\.status))")
        let stats = try await bed.a.stats()
        #expect(JSON.int(try JSON.object(stats.body)["channels"]) == 5, "\(stats.text)")
    }

    @Test func aChannelASubscriberCreatedGoesSoonAfterItsLastSubscriber() async throws {
        let bed = try await RedisTestbed.start(nodes: 1, arguments: ["--channel-inactivity-time", "3s"])
        defer { bed.stop() }
        let node = bed.a
        let meta = "herald:{lonely}:meta"
        let subscriber = try await HTTPStream.connect(port: node.port, "/ev/lonely")
        #expect(subscriber.status == 200)
        let ttl = try await bed.redis.command("TTL", meta).integer ?? -2
        #expect((1...3).contains(ttl), "TTL \(ttl) of a channel with no message")

        // While it has a subscriber it stays, past the inactivity time.
        try await Task.sleep(for: .seconds(5))
        #expect(try await node.channelInfo("lonely") != nil, "gone while subscribed")

        subscriber.close()
        let left = ContinuousClock.now
        var exists = true
        while exists && ContinuousClock.now - left < .seconds(8) {
            try await Task.sleep(for: .milliseconds(200))
            exists = try await bed.redis.command("EXISTS", meta).integer == 1
        }
        #expect(!exists, "still in Redis \(ContinuousClock.now - left) after its last subscriber left")
        #expect(try await node.channelInfo("lonely") == nil)
        #expect(JSON.int(try await node.statsJSON()["channels"]) == 0)

        // A publish gives a channel the retention.
        try await node.publish("lonely", "hello")
        let retained = try await bed.redis.command("TTL", meta).integer ?? -2
        #expect(retained > 86_000, "TTL \(retained) after a publish")
    }
}

/// Quiet channels kept alive in Redis while subscribers hold them. Run apart from the other Redis
/// suites (scripts/test): its renewals have a 3 s inactivity time to beat, which two cores shared
/// with a dozen suites' nodes and servers did not always leave it.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct QuietChannelKeepAliveTests {
    /// More quiet channels than one batch of per-channel commands carries
    /// (`RedisEngine.commandsBatch`): every batch of renewals and counts follows the one before.
    @Test func everyHostedChannelIsKeptAliveAndCountedWhenTheyTakeSeveralBatches() async throws {
        let bed = try await RedisTestbed.start(nodes: 1, arguments: ["--channel-inactivity-time", "3s"])
        defer { bed.stop() }
        // 300 channels, 100 (the most one subscription may name) to a subscriber.
        let groups = (0..<3).map { group in (0..<100).map { "quiet\(group)-\($0)" } }
        var streams: [HTTPStream] = []
        defer { for stream in streams { stream.close() } }
        let port = bed.a.port
        for group in groups {
            // A hundred channels to host at once: given longer than the usual 5 s on a loaded machine.
            let stream = try await Blocking.run {
                try HTTPStream.open(port: port, "/ev/" + group.joined(separator: "/"), timeout: .seconds(15))
            }
            #expect(stream.status == 200)
            streams.append(stream)
        }
        let channels = groups.flatMap { $0 }
        let counted = """
            local n = 0
            for _, key in ipairs(KEYS) do if redis.call('HGET', key, ARGV[1]) == ARGV[2] then n = n + 1 end end
            return n
            """
        func count(_ channels: [String], of value: String) async throws -> Int {
            let keys = channels.map { "herald:{\($0)}:subscribers" }
            return try await bed.redis.command(["EVAL", counted, String(keys.count)] + keys + ["A", value]).integer
                ?? -1
        }

        // Past the inactivity time, every channel is still there, and counted. A renewal that came
        // late on a loaded machine lets a channel lapse until the next one creates it again, so
        // each is read until it holds (3 s at most); a batch never sent would never hold.
        try await Task.sleep(for: .seconds(5))
        let metas = channels.map { "herald:{\($0)}:meta" }
        let existing = try await PresenceTests.eventually(within: .seconds(3)) {
            try await bed.redis.command(["EXISTS"] + metas).integer ?? -1
        } _: {
            $0 == channels.count
        }
        #expect(existing == channels.count, "\(bed.logs)")
        let countedChannels = try await PresenceTests.eventually(within: .seconds(3)) {
            try await count(channels, of: "1")
        } _: {
            $0 == channels.count
        }
        #expect(countedChannels == channels.count)

        // The counts of channels left behind are removed.
        streams.removeLast().close()
        let leftBehind = try await PresenceTests.eventually(within: .seconds(4)) {
            try await count(groups[2], of: "1")
        } _: {
            $0 == 0
        }
        #expect(leftBehind == 0)
        #expect(try await count(groups[0] + groups[1], of: "1") == 200)
    }
}
