import Foundation
import HeraldTesting
import Testing

/// With Redis: the client's metrics move, and readiness follows the engine and the membership
/// while liveness does not.
@Suite struct RedisOperationsTests {
    @Test func redisMetricsAndReadinessFollowTheEngine() async throws {
        let bed = try await RedisTestbed.start(nodes: 1)
        defer { bed.stop() }
        let node = bed.a
        #expect(try await node.waitForReadiness(200, timeout: .seconds(5)))
        let events = try await HTTPStream.connect(port: node.port, "/ev/ops")
        defer { events.close() }
        try #require(try await node.waitForSubscribers("ops", count: 1))
        for i in 1...4 { try await node.publish("ops", "m\(i)") }
        #expect(try await events.readUntil { SSEParser($0.body).dataEvents.count >= 4 })
        let scrape = try await node.metrics()
        #expect((scrape.value("herald_redis_commands_total") ?? 0) >= 4)
        #expect((scrape.value("herald_redis_command_duration_seconds_count") ?? 0) >= 4)
        #expect(scrape.value("herald_redis_errors_total") == 0, "a fresh Redis answers NOSCRIPT, which is no error")
        #expect(scrape.value("herald_messages_delivered_total") == 4)
        #expect(scrape.value("herald_cluster_members") == 1)
        #expect(scrape.value("herald_ready") == 1)

        bed.redis.stop()
        #expect(try await node.waitForReadiness(503, timeout: .seconds(5)))
        #expect(try await node.admin("GET", "/readyz").text == "engine disconnected\n")
        #expect(try await node.admin("GET", "/healthz").status == 200)
        let down = try await node.metrics()
        #expect(down.value("herald_engine_ready") == 0)
        #expect(down.value("herald_ready") == 0)
    }

    /// A node that starts before its Redis connection is up has answered no one: its log says
    /// nothing of requests answered 503 (an operator would look for clients turned away).
    @Test func aStartingNodeLogsNoRefusedRequest() async throws {
        let bed = try await RedisTestbed.start(nodes: 1)
        defer { bed.stop() }
        #expect(try await bed.a.waitForReadiness(200, timeout: .seconds(5)))
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(!bed.a.output.contains("answering 503"), "\(bed.a.output)")
    }
}
