import Foundation
import HeraldTesting
import Testing

/// Publishing without Herald's own code on the path: the Lua script called with `redis-cli` exactly
/// as docs/REDIS.md tells other languages to, and the publisher library with event ids and types.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisScriptTests {
    /// `redis-cli`, next to `redis-server`.
    static var redisCLI: String? {
        guard let server = RedisServerProcess.executablePath else { return nil }
        let cli = URL(fileURLWithPath: server).deletingLastPathComponent().appendingPathComponent("redis-cli").path
        return FileManager.default.isExecutableFile(atPath: cli) ? cli : nil
    }

    /// The integers `redis-cli` printed, one per line (`5` when piped, `1) (integer) 5` on a terminal).
    static func integers(_ output: String) -> [Int] {
        output.split(separator: "\n").compactMap { line in
            Int(line.split(separator: " ").last.map(String.init) ?? "")
        }
    }

    @Test(.enabled(if: redisCLI != nil, "needs redis-cli"))
    func theDocumentedEvalShaCallPublishesToSubscribers() async throws {
        let cli = try #require(Self.redisCLI)
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let port = String(bed.redis.port)
        let events = try await HTTPStream.connect(port: a.port, "/ev/poly")
        defer { events.close() }
        try #require(try await a.waitForSubscribers("poly", count: 1))
        try await b.publishAll("poly", ["p1", "p2"])

        let herald = try HeraldProcess.executableURL.path
        let load = try await ChildCommand.run(
            "/bin/sh", ["-c", "'\(cli)' -p \(port) SCRIPT LOAD \"$('\(herald)' redis-scripts publish)\""])
        let sha = load.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(load.status == 0, "\(load.stderr)")
        #expect(sha.count == 40 && sha.allSatisfy(\.isHexDigit), "SCRIPT LOAD printed \(load.stdout.debugDescription)")

        let ch = "poly"
        let eval = try await ChildCommand.run(
            cli,
            [
                "-p", port, "EVALSHA", sha, "4", "herald:{\(ch)}:meta", "herald:{\(ch)}:log", "herald:channels",
                "herald:stats", ch, "from redis-cli", "", "", "1", "100", "600", "86400", "herald:{\(ch)}:pub",
            ])
        #expect(eval.status == 0, "\(eval.stderr)")
        let reply = Self.integers(eval.stdout)
        try #require(reply.count == 3, "EVALSHA printed \(eval.stdout.debugDescription)")
        #expect(reply[0] == 3)
        #expect(abs(reply[1] - Int(Date().timeIntervalSince1970)) < 60)

        let received = try await Received.events(events, count: 3)
        try #require(received.count == 3, "\(received)")
        let message = received[2].message
        #expect(CursorText.withoutGenerations(received[2].id) == "hc:poly:3")
        #expect(message.id == reply[0])
        #expect(message.text == "from redis-cli")
        #expect(HTTPDates.parse(message.time).map { Int($0.timeIntervalSince1970) } == reply[1])
        #expect(message.tag == String(reply[2]))
        #expect(message.eventID == "")
        // Nodes keep publishing on the same script and ids.
        #expect(JSON.int(try JSON.object(try await a.publish("poly", "p4").body)["published_messages"]) == 4)
    }

    /// A publish answers with channel info read in the same script call: subscribers of every node,
    /// the stored count right after this message; the same two extra keys work from redis-cli.
    @Test(.enabled(if: redisCLI != nil, "needs redis-cli"))
    func aPublishAnswersWithClusterWideInfoFromOneScriptCall() async throws {
        let cli = try #require(Self.redisCLI)
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let onA = try await HTTPStream.connect(port: a.port, "/ev/info")
        defer { onA.close() }
        let onB = try await HTTPStream.connect(port: b.port, "/ev/info")
        defer { onB.close() }
        try #require(try await a.waitForClusterSubscribers("info", count: 2))

        let answer = try JSON.object(try await a.publish("info", "first").body)
        #expect(JSON.int(answer["subscribers"]) == 2)
        #expect(JSON.int(answer["published_messages"]) == 1)
        #expect(JSON.int(answer["stored_messages"]) == 1)

        let herald = try HeraldProcess.executableURL.path
        let port = String(bed.redis.port)
        let load = try await ChildCommand.run(
            "/bin/sh", ["-c", "'\(cli)' -p \(port) SCRIPT LOAD \"$('\(herald)' redis-scripts publish)\""])
        let sha = load.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let ch = "info"
        let eval = try await ChildCommand.run(
            cli,
            [
                "-p", port, "EVALSHA", sha, "6", "herald:{\(ch)}:meta", "herald:{\(ch)}:log", "herald:channels",
                "herald:stats", "herald:{\(ch)}:subscribers", "herald:nodes", ch, "second", "", "", "1", "100", "600",
                "86400", "herald:{\(ch)}:pub",
            ])
        let reply = Self.integers(eval.stdout)
        try #require(reply.count == 5, "EVALSHA printed \(eval.stdout.debugDescription) \(eval.stderr)")
        #expect(reply[0] == 2)
        #expect(reply[3] == 2, "stored messages")
        #expect(reply[4] == 2, "subscribers on live nodes")
        for stream in [onA, onB] {
            #expect(try await Received.events(stream, count: 2).map(\.message.text) == ["first", "second"])
        }
    }

    @Test func theLibrarysEventIDAndTypeReachEventSource() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        let (a, b) = (bed.a, bed.b)
        let events = try await HTTPStream.connect(port: a.port, "/ev/typed")
        defer { events.close() }
        let onB = try await HTTPStream.connect(port: b.port, "/ev/typed")
        defer { onB.close() }
        try #require(try await a.waitForClusterSubscribers("typed", count: 2))

        let library = try await LibraryPublisher.connect(to: bed.redis)
        defer { library.close() }
        let first = try await library.publisher.publish(
            channel: "typed", text: "hello", eventType: "greeting", eventID: "evt-1")
        let second = try await library.publisher.publish(channel: "typed", text: "plain")
        #expect(first.id == 1 && second.id == 2)

        for stream in [events, onB] {
            let received = try await Received.events(stream, count: 2)
            #expect(received.map(\.message.text) == ["hello", "plain"])
            #expect(received.map(\.event) == ["greeting", nil])
            #expect(received.map(\.message.eventID) == ["evt-1", ""])
            #expect(received.map(\.id).map(CursorText.withoutGenerations) == ["hc:typed:1", "hc:typed:2"])
            #expect(
                CursorText.withoutGenerations(inText: stream.text).contains("id: hc:typed:1\nevent: greeting\ndata: {"))
        }
        // The stored event id resumes a subscriber as push-stream's Last-Event-ID does.
        let resumed = try await HTTPStream.connect(port: b.port, "/ev/typed", headers: [("Last-Event-ID", "evt-1")])
        defer { resumed.close() }
        #expect(try await Received.events(resumed, count: 1).map(\.message.text) == ["plain"])
    }
}
