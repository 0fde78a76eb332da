import Foundation
import HeraldTesting
import Testing

/// Several subscribers joining a channel their node does not host yet, together, while messages
/// flow: each must get the exact contiguous run after its cursor. The second one to join must not
/// start its catch-up before the node's Redis subscription (started for the first) is confirmed.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisJoinRaceTests {
    static let rounds = 80

    /// The last id the background publisher got back.
    final class Progress: @unchecked Sendable {
        private let lock = NSLock()
        private var id = 0
        var last: Int { lock.withLock { id } }
        func record(_ value: Int) { lock.withLock { id = max(id, value) } }
    }

    @Test func subscribersJoiningTogetherWhileMessagesFlowMissNothing() async throws {
        let bed = try await RedisTestbed.start(arguments: ["--max-messages-stored-per-channel", "20000"])
        defer { bed.stop() }
        let a = bed.a
        let library = try await LibraryPublisher.connect(to: bed.redis)
        defer { library.close() }
        let progress = Progress()
        let publisher = Task {
            var i = 0
            while !Task.isCancelled {
                i += 1
                progress.record(Int(try await library.publisher.publish(channel: "race", text: "r\(i)").id))
                try await Task.sleep(for: .microseconds(300))
            }
        }
        defer { publisher.cancel() }
        while progress.last < 5 { try await Task.sleep(for: .milliseconds(5)) }

        var violations: [String] = []
        for round in 0..<Self.rounds {
            let cursor = progress.last
            let port = a.port
            let runs = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await Blocking.run {
                            let stream = try HTTPStream.open(
                                port: port, "/ev/race", headers: [("Last-Event-ID", "hc:race:\(cursor)")])
                            defer { stream.close() }
                            _ = try stream.read(timeout: .seconds(3)) { SSEParser($0.body).dataEvents.count >= 25 }
                            return try Received.events(stream).map(\.message.id)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for ids in runs where ids.count < 25 || ids != Array((cursor + 1)..<(cursor + 1 + ids.count)) {
                violations.append("round \(round), cursor \(cursor): \(ReceivedLog.summarize(ids))")
            }
            // Every subscriber gone: the node lets go of the channel before the next round.
            _ = try await a.waitForSubscribers("race", count: 0, timeout: .seconds(2))
        }
        publisher.cancel()
        let report = violations.joined(separator: "\n")
        #expect(violations.isEmpty, "\(violations.count) of \(3 * Self.rounds) subscribers missed messages:\n\(report)")
    }
}
