import HeraldCore
import HeraldPublisher
import HeraldRedis
import HeraldTesting
import Logging
import NIOPosix
import Testing

/// Publishing into a real Redis Cluster: each message stays in its channel's slot (no CROSSSLOT),
/// its backlog reads back from the channel's shard, and it reaches a sharded subscriber of that
/// shard with `SPUBLISH`, in envelope form.
@Suite(.serialized) struct RedisClusterPublishTests {
    static let logger = Logger(label: "herald.e2e.cluster", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func shardedPublishesStayInTheirSlotAndReachShardedSubscribers() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let client = RedisClusterClient(
            seeds: try cluster.seeds.map { try RedisURL($0) }, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: Self.logger)
        try await client.start().get()
        defer { _ = client.shutdown() }

        // The single-Redis script touches cluster-wide keys: a cluster refuses it.
        let plain = HeraldPublisher(redis: client)
        await #expect(throws: (any Error).self) { try await plain.publish(channel: "news", text: "x") }

        var settings = HeraldPublisher.Settings()
        settings.sharded = true
        let publisher = HeraldPublisher(redis: client, settings: settings)
        let owner = try #require(client.slotMap.master(of: RedisClusterSlots.slot(of: settings.keys.pubsub("news"))))
        let listener = try RedisTestClient(port: UInt16(owner.port))
        defer { listener.close() }
        let confirmed = try listener.command(["SSUBSCRIBE", settings.keys.pubsub("news")])
        #expect(confirmed.array?.first?.string == "ssubscribe", "\(confirmed)")

        let first = try await publisher.publish(channel: "news", text: "hello")
        #expect(first.id == 1)
        let push = try listener.readPush()
        #expect(push.array?.first?.string == "smessage", "\(push)")
        guard case .bulk(let envelope?) = push.array?.last else {
            Issue.record("no envelope in \(push)")
            return
        }
        let message = try #require(Envelope.decode(envelope))
        #expect(message.channel == "news" && message.id == 1 && message.text == Array("hello".utf8))

        // Channels on every shard, each with its own ids, and their backlogs.
        let channels = (0..<30).map { "room:\($0)" }
        for round in 1...3 {
            let published = try await publisher.publish(Array("m\(round)".utf8), to: channels, channelInfo: true).get()
            #expect(published.map(\.id) == Array(repeating: Int64(round), count: channels.count))
            #expect(published.allSatisfy { $0.storedMessages == round && $0.subscribers == 0 })
        }
        for channel in channels {
            let backlog = try await publisher.backlog(channel).get()
            #expect(backlog.messages.map(\.text) == ["m1", "m2", "m3"].map { Array($0.utf8) }, "\(channel)")
        }
        let shards = Set(channels.map { client.slotMap.master(of: RedisClusterSlots.slot(of: settings.keys.meta($0))) })
        #expect(shards.count == 3, "the channels spread over every shard")

        // The same from a shell.
        let shell = try await ShellCommand.run(
            try HeraldProcess.executableURL,
            ["publish", "--redis-cluster", cluster.seeds.joined(separator: ","), "room:1/room:2", "from a shell"])
        #expect(shell.status == 0, "\(shell.output)")
        #expect(shell.stdout.contains("room:1 id=4") && shell.stdout.contains("room:2 id=4"), "\(shell.stdout)")
        let last = try await publisher.backlog("room:2").get().messages.last
        #expect(last?.text == Array("from a shell".utf8))
    }
}
