import Foundation
import HeraldTesting
import Testing

/// With Redis gone, answers say only that the message store is unavailable: where Redis lives is
/// the operator's business, written to the log, never told to a client.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisUnavailableExplainTests {
    static let generic = "Message store unavailable."

    @Test func answersWithoutRedisDoNotNameIt() async throws {
        let bed = try await RedisTestbed.start(nodes: 1, arguments: ["--public-publisher"])
        defer { bed.stop() }
        let node = bed.a
        let port = String(bed.redis.port)
        try await bed.redis.terminate()
        #expect(try await node.waitForReadiness(503, timeout: .seconds(5)), "still healthy without Redis")

        var answers: [(String, HTTPResponse)] = []
        for path in ["/ev/gone", "/sub/gone", "/lp/gone"] {
            answers.append((path, try await node.get(path)))
        }
        answers.append(("public POST /pub", try await node.request("POST", "/pub?id=gone", body: Array("x".utf8))))
        answers.append(("admin POST /pub", try await node.admin("POST", "/pub?id=gone", body: Array("x".utf8))))
        answers.append(("admin GET /pub", try await node.admin("GET", "/pub?id=gone")))
        for (what, response) in answers {
            #expect(response.status == 503, "\(what): \(response)")
            #expect(response.explain == Self.generic, "\(what): \(response.explain ?? "no explain")")
            #expect(response.explain?.contains(port) != true, "\(what) names Redis's port: \(response.explain ?? "")")
        }

        // A WebSocket refusal comes in the close frame's reason.
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/gone")
        defer { socket.close() }
        let close = try await socket.readUntil(timeout: .seconds(5)) { $0.isClose }
        let reason = close.map { String(decoding: $0.payload.dropFirst(2), as: UTF8.self) } ?? ""
        #expect(close?.closeCode == 1008, "\(close.map { "\($0)" } ?? "no close frame")")
        #expect(reason.contains(Self.generic) && !reason.contains(port), "close reason: \(reason)")

        // The detail is in the log.
        #expect(node.stderr.contains("redis.error"), "\(node.stderr)")
    }
}
