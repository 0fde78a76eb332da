import Foundation
import HeraldTesting
import Testing

/// The delivery probe: a pub/sub connection that is up and answers its pings but delivers no
/// message (here, a proxy that drops pushes) is found within the probe's bound, reconnected and
/// repaired from the backlog; the node reports not ready meanwhile, and counts it.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisDeliveryProbeTests {
    @Test func aSilentlyStalledPubSubConnectionIsFoundRepairedAndReported() async throws {
        let redis = try await RedisServerProcess.start()
        defer { redis.stop() }
        let proxy = try await PubSubStallProxy.start(in: redis)
        defer { proxy.stop() }
        let probe = ["--delivery-probe-interval", "500ms", "--delivery-probe-timeout", "1s"]
        // A listens through the proxy; B publishes straight to Redis.
        let a = try await HeraldProcess.start(["--redis", proxy.url, "--node-id", "A"] + probe)
        defer { a.stop() }
        let b = try await RedisTestbed.node("B", redis: redis, arguments: probe)
        defer { b.stop() }
        let stream = try await HTTPStream.connect(port: a.port, "/ev/quiet")
        defer { stream.close() }
        try #require(try await a.waitForSubscribers("quiet", count: 1))
        try await b.publish("quiet", "m1")
        #expect(try await Received.events(stream, count: 1, settle: .zero).map(\.message.text) == ["m1"])

        try await proxy.stall()
        try await b.publish("quiet", "m2")
        try await b.publish("quiet", "m3")
        // Within the bound (interval + timeout), A finds out, says so, and repairs from the backlog.
        var readiness = try await a.admin("GET", "/readyz")
        for _ in 0..<250 where !readiness.text.contains("pub/sub delivery stalled") {
            try await Task.sleep(for: .milliseconds(20))
            readiness = try await a.admin("GET", "/readyz")
        }
        #expect(readiness.status == 503 && readiness.text.contains("pub/sub delivery stalled"), "\(readiness)")
        let repaired = try await Received.events(stream, count: 3, timeout: .seconds(5), settle: .zero)
        #expect(repaired.map(\.message.text) == ["m1", "m2", "m3"])
        #expect(try await a.metrics().total("herald_delivery_probe_failures_total") >= 1)

        try await proxy.resume()
        let readyAgain = try await a.waitForReadiness(200, timeout: .seconds(5))
        readiness = try await a.admin("GET", "/readyz")
        #expect(readyAgain, "A did not become ready again: \(readiness)\n\(a.output.suffix(3_000))")
        try await b.publish("quiet", "m4")
        let all = try await Received.events(stream, count: 4)
        #expect(all.map(\.message.text) == ["m1", "m2", "m3", "m4"], "\(all)")
        // B, whose connection never stalled, never failed a probe.
        #expect(try await b.metrics().total("herald_delivery_probe_failures_total") == 0)
    }
}
