import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension ClusterTests {
    /// The headline: `kill -9` of a node while messages flow. Its subscribers reconnect through
    /// nginx to the node the ring names now and resume: every subscriber ends with every message
    /// of its channels exactly once, in order.
    @Test(.timeLimit(.minutes(2)))
    func aKilledNodesSubscribersResumeElsewhereLosingNothing() async throws {
        try await failover(signal: SIGKILL)
    }

    /// The same with SIGTERM: the node leaves the ring, tells its subscribers to go (EventSource
    /// `retry:`, WebSocket close 1012, the streaming footer), and exits 0.
    @Test(.timeLimit(.minutes(2)))
    func aStoppedNodesSubscribersMoveOnLosingNothing() async throws {
        try await failover(signal: SIGTERM)
    }

    private func failover(signal: Int32) async throws {
        try await LocalCluster.with(serveArguments: Self.serveArguments) { cluster in
            let nodes = cluster.nodes
            let candidates = try await cluster.ringOwners(of: TrafficPlans.candidates(200), among: nodes)
            let channels = try TrafficPlans.balanced(candidates, perOwner: 10)
            let victim = nodes[1]
            let survivors = nodes.filter { $0.id != victim.id }
            let ownersBefore = candidates.filter { channels.contains($0.key) }
            let ownersAfter = try await cluster.ringOwners(of: channels, among: survivors)
            let plans = TrafficPlans.plans(channels, mix: .init(), name: "s")
            let run = TrafficRun(cluster: cluster, channels: channels, plans: plans)
            let result = try await run.run {
                kill(victim.pid, signal)
                return []
            }
            let exit = await ChildReaper.shared.waitForExit(victim.pid, timeout: .seconds(20))
            let summary = Self.summarize(result, victim: victim.id, exit: exit)
            var misrouted: [String] = []
            for node in survivors { misrouted.append("\(node.id) \(try await cluster.misroutedSubscribers(node))") }
            print("\(signal == SIGKILL ? "kill -9" : "SIGTERM") of \(victim.id): \(summary); misrouted \(misrouted)")

            let violations = result.deliveryViolations
            #expect(
                violations.isEmpty, "\(violations.count) violations:\n\(violations.prefix(30).joined(separator: "\n"))")
            if signal == SIGKILL {
                #expect(exit == .signal(SIGKILL))
            } else {
                #expect(
                    exit == .status(0) || (exit == .unknown && cluster.log(of: victim).contains("herald node stopped")))
                expectDrainSeen(result, victim: victim.id)
            }
            expectRouting(result, victim: victim.id, before: ownersBefore, after: ownersAfter)
            let sseFailures = result.failures(of: .eventSource)
            #expect(sseFailures.isEmpty, "an EventSource gives up on a refusal: \(sseFailures.prefix(10))")
        }
    }

    /// Before: nginx sent each subscriber to its channel's owner. After: only the victim's
    /// subscribers moved, each to the owner on the ring without the victim.
    private func expectRouting(
        _ result: TrafficRun.Result, victim: String, before: [String: String], after: [String: String]
    ) {
        let firstWrong = result.outcomes.filter { $0.firstNode != before[$0.firstChannel] }
        #expect(firstWrong.isEmpty, "first connections off the ring: \(firstWrong.prefix(5).map(\.plan))")
        let moved = result.subscribers(of: victim).filter { $0.plan.transport != .longPolling }
        #expect(moved.count >= 40, "only \(moved.count) subscribers on \(victim)")
        let stayed = moved.filter { $0.connections.count < 2 }
        #expect(stayed.isEmpty, "subscribers of \(victim) that never reconnected: \(stayed.prefix(5).map(\.plan))")
        let moving = result.streamed.filter { $0.firstNode != victim && $0.connections.count != 1 }
        #expect(moving.isEmpty, "subscribers of live nodes that reconnected: \(moving.prefix(5).map(\.plan))")
        // Long-polls already waiting on a stopping node end there; count from 300 ms on.
        let wrong = result.misrouted(after: result.eventInstant + .milliseconds(300), owners: after)
        #expect(
            wrong.isEmpty, "\(wrong.count) reconnections off the ring:\n\(wrong.prefix(10).joined(separator: "\n"))")
    }

    /// Every long-lived subscriber of the stopping node heard it was going.
    private func expectDrainSeen(_ result: TrafficRun.Result, victim: String) {
        for outcome in result.subscribers(of: victim) where outcome.plan.transport != .longPolling {
            let ending = outcome.connections.first?.ending
            switch outcome.plan.transport {
            case .eventSource:
                if case .retryHint = ending {
                } else {
                    Issue.record("\(outcome.plan) ended with \(ending.map { "\($0)" } ?? "-")")
                }
            case .webSocket:
                #expect(ending == .closeFrame(1012), "\(outcome.plan)")
            case .streaming:
                #expect(ending == .endOfStream, "\(outcome.plan)")
            case .longPolling:
                break
            }
        }
    }

    static func summarize(_ result: TrafficRun.Result, victim: String, exit: ChildReaper.Exit?) -> String {
        let times = result.reconnectTimes(from: victim)
        let endings = Dictionary(grouping: result.subscribers(of: victim).compactMap { $0.connections.first?.ending }) {
            "\($0)".hasPrefix("retry") ? "retry" : "\($0)"
        }.mapValues(\.count)
        return """
            \(result.outcomes.count) subscribers (\(result.subscribers(of: victim).count) on \(victim)) subscribed in \
            \(result.subscribed.ms) ms; \(result.publisher.summary); \
            publish outage \(result.publisher.longestGap.ms) ms; \
            \(result.final.values.reduce(0, +)) messages on \(result.final.count) channels, \
            \(result.messagesDelivered) deliveries, \(result.doublePublished) double-published; \
            \(victim) \(exit.map { "\($0)" } ?? "still running"); its subscribers' endings \(endings); \
            connection lost \(times.lost.spread); reconnected \(times.reconnected.spread); \
            first message again \(times.resumed.spread)
            """
    }
}
