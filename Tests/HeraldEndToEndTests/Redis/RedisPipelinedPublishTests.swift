import HeraldCore
import HeraldPublisher
import HeraldRedis
import HeraldTesting
import Logging
import NIOCore
import NIOPosix
import Testing

/// Publishes pipelined through the publisher library keep their order on each channel, also on a
/// Redis that has never seen the scripts (a new or restarted one): the client loads them when it
/// connects, so no batch is answered `NOSCRIPT` and sent again behind later ones.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisPipelinedPublishTests {
    static let logger = Logger(label: "herald.e2e.pipeline", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Sends `batches` batches of 64 publishes over 5 channels with 8 in flight at once, then
    /// returns each channel's stored texts.
    static func publishPipelined(
        into redis: RedisServerProcess, settings: RedisClient.Settings, batches: Int
    ) async throws -> [String: [String]] {
        let client = RedisClient(
            url: try RedisURL(redis.url), eventLoopGroup: MultiThreadedEventLoopGroup.singleton, settings: settings,
            logger: Self.logger)
        try await client.start().get()
        defer { _ = client.shutdown() }
        var publisherSettings = HeraldPublisher.Settings()
        publisherSettings.maxMessagesStoredPerChannel = 10_000
        let publisher = HeraldPublisher(redis: client, settings: publisherSettings)
        let channels = (0..<5).map { "ordered\($0)" }
        var inFlight: [EventLoopFuture<[PublishedMessage]>] = []
        var sequence = 0
        for _ in 0..<batches {
            let batch = (0..<64).map { _ -> HeraldPublisher.Outgoing in
                defer { sequence += 1 }
                return HeraldPublisher.Outgoing(
                    channels: [channels[sequence % channels.count]], text: Array(String(sequence).utf8))
            }
            inFlight.append(publisher.publish(batch: batch))
            if inFlight.count >= 8 { _ = try await inFlight.removeFirst().get() }
        }
        for future in inFlight { _ = try await future.get() }
        var stored: [String: [String]] = [:]
        for channel in channels {
            stored[channel] = try await publisher.backlog(channel).get().messages.map {
                String(decoding: $0.text, as: UTF8.self)
            }
        }
        return stored
    }

    @Test func pipelinedPublishesOnAFreshRedisKeepTheirOrder() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let stored = try await Self.publishPipelined(
            into: redis, settings: RedisClient.Settings(scripts: HeraldPublisher.scripts), batches: 40)
        for (channel, texts) in stored {
            let sequences = texts.compactMap { Int($0) }
            #expect(sequences.count == 40 * 64 / 5, "\(channel): \(sequences.count) stored")
            let ordered = sequences == sequences.sorted()
            #expect(ordered, "\(channel) out of order: \(sequences.prefix(60))")
        }
    }

    /// A Redis that lost its scripts (`SCRIPT FLUSH`, or a restart behind a proxy) answers
    /// `NOSCRIPT`: the publish, the create and the backlog read are sent again and answered as
    /// if nothing had happened.
    @Test func callsAnsweredNoScriptAreSentAgainAndAnswered() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let client = RedisClient(
            url: try RedisURL(redis.url), eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            settings: RedisClient.Settings(scripts: HeraldPublisher.scripts), logger: Self.logger)
        try await client.start().get()
        defer { _ = client.shutdown() }
        let publisher = HeraldPublisher(redis: client, settings: HeraldPublisher.Settings())
        let first = try await publisher.publish(Array("a".utf8), to: ["flushed"]).get()
        _ = try await client.send(["SCRIPT", "FLUSH"]).get()
        let second = try await publisher.publish(Array("b".utf8), to: ["flushed"]).get()
        #expect(first.map(\.id) == [1])
        #expect(second.map(\.id) == [2])
        _ = try await client.send(["SCRIPT", "FLUSH"]).get()
        try await publisher.create(["created"]).get()
        _ = try await client.send(["SCRIPT", "FLUSH"]).get()
        let backlog = try await publisher.backlog("flushed").get()
        #expect(backlog.messages.map { String(decoding: $0.text, as: UTF8.self) } == ["a", "b"])
        #expect(try await publisher.records(["created"]).get().first??.channel == "created")
    }
}
