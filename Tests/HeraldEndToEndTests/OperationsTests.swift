import Foundation
import HeraldTesting
import Testing

/// What an operator sees: metrics that move with traffic, liveness apart from readiness, settings
/// from flags, environment and a file with one precedence, structured logs.
@Suite struct OperationsTests {
    /// Every metric docs/OPERATIONS.md documents, as a scrape of a fresh node shows them.
    static let documented = [
        "herald_build_info", "herald_subscriber_connections", "herald_subscriptions", "herald_subscriptions_total",
        "herald_hosted_channels", "herald_open_connections", "herald_refused_connections_total",
        "herald_publishes_total", "herald_messages_delivered_total", "herald_messages_dropped_total",
        "herald_slow_subscriber_disconnects_total", "herald_slow_subscriber_dropped_bytes_total",
        "herald_resumes_total", "herald_auth_refusals_total", "herald_misrouted_subscribers_total",
        "herald_delivery_latency_seconds_bucket", "herald_delivery_latency_seconds_count",
        "herald_event_loop_lag_seconds_bucket", "herald_engine_ready", "herald_ready", "herald_cluster_members",
        "process_open_fds", "process_max_fds", "process_resident_memory_bytes", "process_virtual_memory_bytes",
        "process_cpu_seconds_total", "process_start_time_seconds",
    ]

    @Test func countersMoveWithTraffic() async throws {
        let node = try await HeraldProcess.start(["--max-messages-stored-per-channel", "3"])
        defer { node.stop() }
        let before = try await node.metrics()
        for name in Self.documented { #expect(before.has(name), "\(name) missing") }

        let events = try await HTTPStream.connect(port: node.port, "/ev/ops")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/ops/other")
        defer { socket.close() }
        try #require(try await node.waitForSubscribers("ops", count: 2))
        var scrape = try await node.metrics()
        #expect(scrape.value("herald_subscriber_connections", ["transport": "eventsource"]) == 1)
        #expect(scrape.value("herald_subscriber_connections", ["transport": "websocket"]) == 1)
        #expect(scrape.value("herald_subscriptions") == 3)
        #expect(scrape.value("herald_hosted_channels") == 2)
        #expect(scrape.value("herald_open_connections", ["listener": "public"]) == 2)

        for i in 1...5 { try await node.publish("ops", "m\(i)") }
        #expect(try await events.readUntil { SSEParser($0.body).dataEvents.count >= 5 })
        #expect(try await socket.readTextFrames(5))
        scrape = try await node.metrics()
        #expect(scrape.value("herald_publishes_total", ["result": "ok"]) == 5)
        #expect(scrape.value("herald_messages_delivered_total") == 10)
        #expect((scrape.value("herald_delivery_latency_seconds_count") ?? 0) >= 1)
        var lagSamples = scrape.value("herald_event_loop_lag_seconds_count") ?? 0
        for _ in 0..<40 where lagSamples < 1 {  // each loop is probed every half second
            try await Task.sleep(for: .milliseconds(50))
            lagSamples = try await node.metrics().value("herald_event_loop_lag_seconds_count") ?? 0
        }
        #expect(lagSamples >= 1)
        #expect((scrape.value("process_open_fds") ?? 0) >= 4)
        #expect((scrape.value("process_resident_memory_bytes") ?? 0) > 1_000_000)

        // Resuming: exactly (id 4 of 5 is stored), then past what the 3-message backlog holds.
        let exact = try await node.get("/lp/ops", headers: [("If-None-Match", "W/hc:ops:4")])
        #expect(exact.status == 200)
        let gap = try await node.get("/lp/ops", headers: [("If-None-Match", "W/hc:ops:1")])
        #expect(gap.status == 200)
        scrape = try await node.metrics()
        #expect(scrape.value("herald_resumes_total", ["outcome": "exact"]) == 1)
        #expect(scrape.value("herald_resumes_total", ["outcome": "gap"]) == 1)
        #expect(scrape.value("herald_subscriptions_total", ["mode": "long-polling"]) == 2)
    }

    @Test func aRefusedPublishIsNotAnError() async throws {
        let node = try await HeraldProcess.start(["--max-number-of-channels", "1"])
        defer { node.stop() }
        try await node.publish("first", "x")
        #expect(try await node.admin("POST", "/pub?id=second", body: Array("x".utf8)).status == 403)
        let scrape = try await node.metrics()
        #expect(scrape.value("herald_publishes_total", ["result": "ok"]) == 1)
        #expect(scrape.value("herald_publishes_total", ["result": "refused"]) == 1)
        #expect(scrape.value("herald_publishes_total", ["result": "error"]) == 0)
    }

    @Test func authRefusalsAreCountedByReason() async throws {
        let node = try await GrantTests.node(["--allowed-origins", "https://site.example"])
        defer { node.stop() }
        _ = try await node.get("/lp/a")
        _ = try await node.get("/lp/a?token=garbage")
        let other = try await GrantTests.token(channels: ["b"])
        _ = try await node.get("/lp/a?token=\(other)")
        _ = try await node.get("/lp/a", headers: [("Origin", "https://evil.example")])
        let scrape = try await node.metrics()
        #expect(scrape.value("herald_auth_refusals_total", ["reason": "missing"]) == 1)
        #expect(scrape.value("herald_auth_refusals_total", ["reason": "invalid"]) == 1)
        #expect(scrape.value("herald_auth_refusals_total", ["reason": "channel"]) == 1)
        #expect(scrape.value("herald_auth_refusals_total", ["reason": "origin"]) == 1)
        #expect(scrape.total("herald_subscriptions_total") == 0, "refused requests are not subscriptions")
    }

    @Test func settingsComeFromFlagsThenEnvironmentThenFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-config-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("herald.yaml").path
        try """
        # every key is a long option name
        max-message-size: 64k
        max-messages-stored-per-channel: 7
        ping-message-interval: 5s
        store-messages: false
        publisher-key: from-the-file
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await ShellCommand.run(
            try HeraldProcess.executableURL,
            ["serve", "--config", file, "--ping-message-interval", "9s", "--print-config"],
            environment: ["HERALD_MAX_MESSAGES_STORED_PER_CHANNEL": "8", "HERALD_STORE_MESSAGES": "on"])
        #expect(result.status == 0, "\(result.output)")
        let lines = Set(result.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") })
        #expect(lines.contains("ping-message-interval 9s # command line"), "\(result.stdout)")
        #expect(lines.contains("max-messages-stored-per-channel 8 # environment"))
        #expect(lines.contains("store-messages true # environment"))
        #expect(lines.contains("max-message-size 64k # file"))
        #expect(lines.contains("publisher-key (set) # file"), "a secret is never printed")
        #expect(lines.contains("message-ttl 10m # default"))
        #expect(!result.stdout.contains("from-the-file"))

        // The file really configures a node: its publisher key is required.
        let node = try await HeraldProcess.start(["--config", file])
        defer { node.stop() }
        #expect(try await node.admin("POST", "/pub?id=c", body: Array("x".utf8)).status == 401)
        let keyed = try await node.admin(
            "POST", "/pub?id=c", headers: [("Authorization", "Bearer from-the-file")], body: Array("x".utf8))
        #expect(keyed.status == 200)
    }

    @Test func aBadFileFailsAtStartWithOneLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-config-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml").path
        let cases: [(String, String)] = [
            ("max-mesage-size: 1k\n", "max-mesage-size: no such setting (did you mean 'max-message-size'?)"),
            ("port: eighty\n", "port: The value 'eighty' is invalid for '--port <port>'"),
            ("store-messages: maybe\n", "store-messages: 'maybe' is not true or false"),
            (
                "max-messages-stored-per-channel: 0\n",
                "max-messages-stored-per-channel: --max-messages-stored-per-channel must be ≥ 1."
            ),
            ("port: {a: 1}\n", "port: expected a single value"),
            ("- just\n- a list\n", "expected a mapping of setting names to values"),
        ]
        for (text, expected) in cases {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try await ShellCommand.run(try HeraldProcess.executableURL, ["serve", "--config", file])
            #expect(result.status == 64, "\(text): \(result.output)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(text): \(result.stderr)")
            #expect(lines.first?.hasPrefix("herald: \(file): \(expected)") == true, "\(text): \(result.stderr)")
        }
    }

    @Test func logsAreOneStructuredLinePerEvent() async throws {
        let node = try await HeraldProcess.start(["--log-format", "json"])
        defer { node.stop() }
        for i in 1...3 { try await node.publish("quiet", "m\(i)") }
        _ = try await node.admin("DELETE", "/pub?id=quiet")
        _ = try await node.admin("GET", "/healthz")
        let lines = try await waitForLines(node) { lines in
            lines.contains { ($0["msg"] as? String) == "admin request" && ($0["http.method"] as? String) == "DELETE" }
        }
        let start = try #require(lines.first { ($0["msg"] as? String) == "herald node listening" })
        for key in [
            "version", "engine", "listener.public", "listener.admin", "limit.connections", "limit.message_size",
        ] {
            #expect(start[key] != nil, "start line lacks \(key): \(start)")
        }
        #expect(start["engine"] as? String == "memory")
        let requests = lines.filter { ($0["msg"] as? String) == "admin request" }
        // At the default level: the delete, not the publishes or the probe.
        #expect(requests.count == 1, "\(requests)")
        #expect(requests.first?["http.target"] as? String == "/pub?id=quiet")
        #expect(requests.first?["http.status"] as? String == "200")
    }

    /// The node's stderr as JSON objects, once `done` holds (or after 5 s).
    private func waitForLines(
        _ node: HeraldProcess, until done: ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let lines = node.stderr.split(separator: "\n").compactMap { line in
                try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            }
            if done(lines) || ContinuousClock.now > deadline { return lines }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// `herald stats`, `cluster`, `presence` and `version` against a running node.
@Suite struct AdminCommandTests {
    static func run(_ arguments: [String]) async throws -> ShellCommand.Result {
        try await ShellCommand.run(try HeraldProcess.executableURL, arguments)
    }

    @Test func queriesPrintTablesOfWhatTheNodeKnows() async throws {
        let node = try await HeraldProcess.start(["--admin-key", "ops-key"])
        defer { node.stop() }
        for channel in ["room:1", "room:2", "a&b", "café"] { try await node.publish(channel, "x") }
        let admin = ["--admin", "http://127.0.0.1:\(node.adminPort)", "--admin-key", "ops-key"]

        let summary = try await Self.run(["stats"] + admin)
        #expect(summary.status == 0, "\(summary.output)")
        #expect(summary.stdout.contains("channels            4"), "\(summary.stdout)")
        let rooms = try await Self.run(["stats", "--channel", "room:*"] + admin)
        #expect(rooms.stdout.contains("room:1") && rooms.stdout.contains("room:2") && !rooms.stdout.contains("a&b"))
        let odd = try await Self.run(["stats", "--channel", "a&b"] + admin)
        #expect(odd.status == 0, "\(odd.output)")
        #expect(odd.stdout.split(separator: "\n").last?.split(separator: " ").first == "a&b", "\(odd.stdout)")

        let accented = try await Self.run(["stats", "--channel", "café"] + admin)
        #expect(accented.stdout.contains("café     1"), "\(accented.output)")

        let cluster = try await Self.run(["cluster"] + admin)
        #expect(cluster.stdout.contains("engine memory"), "\(cluster.output)")
        let presence = try await Self.run(["presence", "--user", "42"] + admin)
        #expect(presence.stdout.contains("user 42: offline, 0 connection(s)"), "\(presence.output)")
        let json = try await Self.run(["stats", "--json"] + admin)
        #expect(json.stdout.hasPrefix("{"), "\(json.stdout)")

        let refused = try await Self.run(["stats", "--admin", "http://127.0.0.1:\(node.adminPort)"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("401"), "\(refused.output)")
        let version = try await Self.run(["version"])
        #expect(version.stdout.hasPrefix("herald "), "\(version.output)")
    }
}
