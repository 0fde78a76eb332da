import Foundation
import HeraldTesting
import Testing

/// `--publish-durability replicas=N`: a publish is acknowledged only once a replica has it, so a
/// failover cannot lose an acknowledged message; one the replica did not take in time is answered
/// 503, and retried with its idempotency key it is stored once.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisDurabilityTests {
    @Test func aPublishIsAcknowledgedOnlyOnceAReplicaHasIt() async throws {
        let master = try await RedisServerProcess.start()
        defer { master.stop() }
        let replica = try await RedisServerProcess.start(arguments: ["--replicaof", "127.0.0.1", String(master.port)])
        defer { replica.stop() }
        var linked = false
        for _ in 0..<200 where !linked {
            linked = try await replica.command("INFO", "replication").string?.contains("master_link_status:up") == true
            if !linked { try await Task.sleep(for: .milliseconds(25)) }
        }
        try #require(linked, "the replica never synced")
        let node = try await HeraldProcess.start([
            "--redis", master.url, "--publish-durability", "replicas=1", "--publish-durability-timeout", "300ms",
        ])
        defer { node.stop() }

        // Acknowledged: the replica has it already.
        #expect(try await node.admin("POST", "/pub?id=durable", body: Array("one".utf8)).status == 200)
        #expect(try await replica.command("LLEN", "herald:{durable}:log").integer == 1)

        // The replica stops taking writes: the publish happens, but is not acknowledged.
        replica.pause()
        let key = [("Idempotency-Key", "two")]
        let refused = try await node.admin("POST", "/pub?id=durable", headers: key, body: Array("two".utf8))
        #expect(refused.status == 503, "\(refused)")
        #expect(refused.headers["X-Nginx-PushStream-Explain"] == "Message was not replicated in time.")
        replica.resume()
        // The retry answers as the first try, and nothing is stored twice.
        let retried = try await node.admin("POST", "/pub?id=durable", headers: key, body: Array("two".utf8))
        #expect(retried.status == 200, "\(retried)")
        #expect(JSON.int(try JSON.object(retried.body)["published_messages"]) == 2)
        #expect(try await replica.command("LLEN", "herald:{durable}:log").integer == 2)

        // Without durability, a stopped replica changes nothing for publishers.
        let plain = try await HeraldProcess.start(["--redis", master.url])
        defer { plain.stop() }
        replica.pause()
        defer { replica.resume() }
        #expect(try await plain.admin("POST", "/pub?id=durable", body: Array("three".utf8)).status == 200)
    }

    @Test func theDurabilityOptionIsChecked() async throws {
        for value in ["replicas=0", "replicas=x", "all", "replicas=17"] {
            let result = try await ShellCommand.run(
                try HeraldProcess.executableURL, ["serve", "--publish-durability", value, "--port", "0"])
            #expect(result.status == 64, "\(value): \(result.output)")
            #expect(result.output.contains("--publish-durability"), "\(value): \(result.output)")
        }
    }
}
