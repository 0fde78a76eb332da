import Foundation
import HeraldTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The concurrency checker on two nodes sharing Redis: publishers on both nodes' `/pub`,
/// subscribers joining either node mid-stream with every resume style; each must get exactly the
/// contiguous run after its resume point.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisConcurrencyTests {
    static let channels = ConcurrencyTests.channels
    static let publishersPerNode = 2
    static let messagesPerPublisher = 180

    /// Plans and the node (0: A, 1: B) each subscriber joins.
    static var plans: [(plan: SubscriberPlan, node: Int)] {
        typealias P = SubscriberPlan
        let specs: [(P.Transport, [String], P.Resume)] = [
            (.eventSource, ["c0"], .live), (.eventSource, ["c1"], .cursor(back: 7)), (.webSocket, ["c2"], .live),
            (.longPolling, ["c0"], .cursor(back: 3)), (.streaming, ["c1"], .backtrack(5)),
            (.eventSource, ["c0", "c1"], .cursor(back: 4)), (.eventSource, ["c2"], .backtrack(20)),
            (.webSocket, ["c0"], .cursor(back: 9)), (.eventSource, ["c1"], .timeTag(back: 6)),
            (.longPolling, ["c1", "c2"], .cursor(back: 2)), (.eventSource, ["c2"], .timeTag(back: 3)),
            (.streaming, ["c0"], .cursor(back: 12)), (.eventSource, ["c0", "c1", "c2"], .cursor(back: 5)),
            (.webSocket, ["c1"], .cursor(back: 30)), (.eventSource, ["c0"], .backtrack(3)),
            (.eventSource, ["c2"], .cursor(back: 15)), (.eventSource, ["c1", "c2"], .live),
            (.longPolling, ["c2"], .cursor(back: 1)),
        ]
        return specs.enumerated().map { index, spec in
            let reconnects = spec.0 != .longPolling && index % 2 == 1
            let plan = P(
                name: "s\(index)", transport: spec.0, channels: spec.1, resume: spec.2,
                joinAfter: .milliseconds(60 * index), reconnectAfter: reconnects ? 7 + index % 11 : nil)
            return (plan, index % 2)
        }
    }

    @Test func twoNodesPublishersAndStaggeredSubscribersLoseNothing() async throws {
        let bed = try await RedisTestbed.start(arguments: [
            "--max-messages-stored-per-channel", "2000", "--longpolling-connection-ttl", "2s",
        ])
        defer { bed.stop() }
        let nodes = bed.nodes.map { (port: $0.port, adminPort: $0.adminPort) }
        let finish = FinishLine()
        let deadline = Deadline.after(.seconds(20))
        let started = ContinuousClock.now

        let logs = try await withThrowingTaskGroup(of: ReceivedLog?.self) { group in
            for publisher in 0..<(2 * Self.publishersPerNode) {
                let adminPort = nodes[publisher % 2].adminPort
                group.addTask {
                    try await Blocking.run { try Self.publish(publisher, adminPort: adminPort) }
                    return nil
                }
            }
            for (plan, node) in Self.plans {
                let (port, adminPort) = nodes[node]
                group.addTask {
                    try await Task.sleep(for: plan.joinAfter)
                    return try await Blocking.run {
                        SubscriberRunner(
                            plan: plan, port: port, adminPort: adminPort, finish: finish, deadline: deadline
                        ).run()
                    }
                }
            }
            return try await finish.collect(&group, publishers: 2 * Self.publishersPerNode) {
                try await ConcurrencyTests.lastIDs(adminPort: nodes[1].adminPort)
            }
        }
        let elapsed = ContinuousClock.now - started
        let final = try #require(finish.finalIDs)
        let total = 2 * Self.publishersPerNode * Self.messagesPerPublisher
        #expect(Self.channels.reduce(0) { $0 + (final[$1] ?? 0) } == total, "\(final)")
        #expect(logs.count == Self.plans.count)
        var violations = logs.flatMap { $0.violations(final: final) }
        // Every subscriber agrees on which text has which id.
        var byID: [String: [Int: String]] = [:]
        for log in logs {
            for (channel, texts) in log.texts {
                for (id, text) in texts {
                    if let known = byID[channel]?[id], known != text {
                        violations.append("\(channel) #\(id) is \(known.debugDescription) and \(text.debugDescription)")
                    }
                    byID[channel, default: [:]][id] = text
                }
            }
        }
        #expect(violations.isEmpty, "\(violations.count) violations:\n\(violations.prefix(30).joined(separator: "\n"))")
        #expect(elapsed < .seconds(20), "took \(elapsed)")
        let covered = logs.reduce(0) { $0 + $1.ids.values.reduce(0) { $0 + $1.count } }
        #expect(covered > 1500, "subscribers received only \(covered) messages in all")
    }

    /// One publisher: its messages round-robin over the channels, on one keep-alive connection.
    static func publish(_ publisher: Int, adminPort: UInt16) throws {
        let client = try RawHTTPClient(port: adminPort)
        defer { client.close() }
        for i in 0..<messagesPerPublisher {
            let channel = channels[(i + publisher) % channels.count]
            let response = try client.request("POST", "/pub?id=\(channel)", body: Array("p\(publisher)-\(i)".utf8))
            guard response.status == 200 else { throw HarnessError("publish answered \(response)") }
            usleep(4_000)
        }
    }
}
