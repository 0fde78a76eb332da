import Foundation
import HeraldTesting
import Testing

/// The delivery invariants under load: several publishers, subscribers joining mid-stream over
/// every transport and resume style; each must get exactly the contiguous run after its resume
/// point, in order, with no loss and no duplicate.
@Suite struct ConcurrencyTests {
    static let channels = ["c0", "c1", "c2"]
    static let publishers = 4
    static let messagesPerPublisher = 250

    static var plans: [SubscriberPlan] {
        typealias P = SubscriberPlan
        let specs: [(P.Transport, [String], P.Resume)] = [
            (.eventSource, ["c0"], .live), (.eventSource, ["c1"], .cursor(back: 7)), (.webSocket, ["c2"], .live),
            (.longPolling, ["c0"], .cursor(back: 3)), (.streaming, ["c1"], .backtrack(5)),
            (.eventSource, ["c0", "c1"], .cursor(back: 4)), (.eventSource, ["c2"], .backtrack(20)),
            (.webSocket, ["c0"], .cursor(back: 9)), (.eventSource, ["c1"], .timeTag(back: 6)),
            (.longPolling, ["c1", "c2"], .cursor(back: 2)), (.eventSource, ["c2"], .live),
            (.streaming, ["c0"], .cursor(back: 12)), (.eventSource, ["c0", "c2"], .live),
            (.eventSource, ["c1"], .live), (.webSocket, ["c1"], .cursor(back: 30)),
            (.eventSource, ["c0"], .backtrack(3)),
            (.longPolling, ["c2"], .cursor(back: 1)), (.eventSource, ["c2"], .cursor(back: 15)),
            (.eventSource, ["c0", "c1", "c2"], .cursor(back: 5)), (.streaming, ["c2"], .live),
            (.eventSource, ["c0"], .timeTag(back: 10)), (.webSocket, ["c1"], .live),
            (.eventSource, ["c1"], .backtrack(50)),
            (.eventSource, ["c0"], .cursor(back: 40)), (.eventSource, ["c1", "c2"], .cursor(back: 6)),
            (.eventSource, ["c2"], .live), (.eventSource, ["c0"], .live), (.eventSource, ["c2"], .backtrack(2)),
            (.eventSource, ["c1"], .cursor(back: 0)), (.eventSource, ["c0", "c1", "c2"], .live),
        ]
        return specs.enumerated().map { index, spec in
            // Every other long-lived subscriber keeps reconnecting from its cursor.
            let reconnects = spec.0 != .longPolling && index % 2 == 1
            return P(
                name: "s\(index)", transport: spec.0, channels: spec.1, resume: spec.2,
                joinAfter: .milliseconds(45 * index),
                reconnectAfter: reconnects ? 7 + index % 11 : nil)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func publishersAndStaggeredSubscribersLoseNothing() async throws {
        let node = try await HeraldProcess.start([
            "--max-messages-stored-per-channel", "2000", "--longpolling-connection-ttl", "2s",
        ])
        defer { node.stop() }
        let port = node.port
        let adminPort = node.adminPort
        let finish = FinishLine()
        let deadline = Deadline.after(.seconds(30))
        let started = ContinuousClock.now

        let logs = try await withThrowingTaskGroup(of: ReceivedLog?.self) { group in
            for publisher in 0..<Self.publishers {
                group.addTask {
                    try await Blocking.run {
                        let client = try RawHTTPClient(port: adminPort)
                        defer { client.close() }
                        for i in 0..<Self.messagesPerPublisher {
                            let channel = Self.channels[(i + publisher) % Self.channels.count]
                            let response = try client.request(
                                "POST", "/pub?id=\(channel)", body: Array("p\(publisher)-\(i)".utf8))
                            guard response.status == 200 else {
                                throw HarnessError("publish answered \(response.status)")
                            }
                            usleep(3000)
                        }
                    }
                    return nil
                }
            }
            for plan in Self.plans {
                group.addTask {
                    try await Task.sleep(for: plan.joinAfter)
                    return try await Blocking.run {
                        SubscriberRunner(
                            plan: plan, port: port, adminPort: adminPort, finish: finish, deadline: deadline
                        ).run()
                    }
                }
            }
            return try await finish.collect(&group, publishers: Self.publishers) {
                try await Self.lastIDs(adminPort: adminPort)
            }
        }
        let elapsed = ContinuousClock.now - started
        let final = try #require(finish.finalIDs)

        // Every message was published once: ids per channel are exactly the number sent there.
        for (index, channel) in Self.channels.enumerated() {
            let expected = (0..<Self.publishers).reduce(0) { total, publisher in
                total + (0..<Self.messagesPerPublisher).filter { ($0 + publisher) % Self.channels.count == index }.count
            }
            #expect(final[channel] == expected, "\(channel)")
        }
        #expect(logs.count == Self.plans.count)
        var violations: [String] = []
        for log in logs { violations += log.violations(final: final) }
        #expect(violations.isEmpty, "\(violations.count) violations:\n\(violations.prefix(40).joined(separator: "\n"))")

        // All subscribers agree on which text has which id, and each publisher's messages keep their order.
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
        for (channel, texts) in byID {
            var lastSequence: [String: Int] = [:]
            for id in texts.keys.sorted() {
                let parts = texts[id]!.dropFirst().split(separator: "-")
                guard parts.count == 2, let sequence = Int(parts[1]) else {
                    violations.append("\(channel) #\(id): unexpected text \(texts[id]!.debugDescription)")
                    continue
                }
                let publisher = String(parts[0])
                if let previous = lastSequence[publisher], previous >= sequence {
                    violations.append("\(channel) #\(id): p\(publisher)-\(sequence) after p\(publisher)-\(previous)")
                }
                lastSequence[publisher] = sequence
            }
        }
        #expect(violations.isEmpty, "\(violations.prefix(20).joined(separator: "\n"))")
        #expect(elapsed < .seconds(25), "took \(elapsed)")
        let covered = logs.reduce(0) { $0 + $1.ids.values.reduce(0) { $0 + $1.count } }
        #expect(covered > 3000, "subscribers received only \(covered) messages in all")
    }

    static func lastIDs(adminPort: UInt16) async throws -> [String: Int] {
        try await Blocking.run {
            let client = try RawHTTPClient(port: adminPort)
            defer { client.close() }
            var ids: [String: Int] = [:]
            for channel in channels {
                let response = try client.request("GET", "/pub?id=\(channel)")
                ids[channel] = JSON.int(try JSON.object(response.body)["published_messages"]) ?? 0
            }
            return ids
        }
    }
}
