import Foundation
import HeraldTesting
import Testing

extension ClusterTests {
    /// A fourth node joins while messages flow, and nginx is reloaded with it. Subscribers already
    /// connected stay where they are and keep receiving everything; new subscribers go to the
    /// ring's owner, the new node included; nobody loses or repeats a message.
    @Test(.timeLimit(.minutes(2)))
    func aNodeAddedWhileTrafficFlowsTakesNewSubscribersLosingNothing() async throws {
        try await LocalCluster.with(serveArguments: Self.serveArguments) { cluster in
            let nodes = cluster.nodes
            let newcomer = "127.0.0.1:\(cluster.basePort + UInt16(nodes.count))"
            let candidates = TrafficPlans.candidates(300)
            let ownersBefore = try await cluster.ringOwners(of: candidates, among: nodes)
            let ownersGrown = try await cluster.ringOwners(
                of: candidates, addresses: nodes.map(\.advertise) + [newcomer])
            // Channels the new node will own, and channels that stay with each old node.
            let moving = candidates.filter { ownersGrown[$0] == newcomer }.prefix(9)
            let staying = try TrafficPlans.balanced(
                ownersBefore.filter { ownersGrown[$0.key] != newcomer }, perOwner: 7)
            let channels = Array(moving) + staying
            let early = TrafficPlans.plans(
                channels,
                mix: .init(
                    eventSource: 3, webSocket: 2, streaming: 1, longPolling: 1,
                    twoChannels: [.eventSource: 4, .webSocket: 2, .longPolling: 2]),
                name: "s")
            let late = TrafficPlans.plans(
                channels, mix: .init(eventSource: 1, webSocket: 1, streaming: 0, longPolling: 0, twoChannels: [:]),
                name: "late")
            var added: LocalCluster.Node?
            var routed = ContinuousClock.now
            let run = TrafficRun(cluster: cluster, channels: channels, plans: early)
            let result = try await run.run {
                let node = try await cluster.addNode()
                added = node
                try await cluster.reconfigureNginx(for: nodes + [node])
                try await waitUntilRouted(moving.first!, to: node, front: cluster.frontPort)
                routed = .now
                return late
            }
            let newNode = try #require(added)
            try await cluster.waitForMembership(count: nodes.count + 1)
            let ownersAfter = try await cluster.ringOwners(of: channels, among: cluster.nodes)
            let earlyOutcomes = result.outcomes.filter { !$0.plan.name.hasPrefix("late") }
            let lateOutcomes = result.outcomes.filter { $0.plan.name.hasPrefix("late") }
            let onNewNode = lateOutcomes.filter { $0.firstNode == newNode.id }
            print(
                "\(newNode.id) joined, nginx routing to it \((routed - result.eventInstant).ms) ms after the start: "
                    + "\(earlyOutcomes.count) subscribers before, \(lateOutcomes.count) after (\(onNewNode.count) on "
                    + "\(newNode.id)); \(result.publisher.summary); \(result.final.values.reduce(0, +)) messages, "
                    + "\(result.messagesDelivered) deliveries")

            let violations = result.deliveryViolations
            #expect(
                violations.isEmpty, "\(violations.count) violations:\n\(violations.prefix(30).joined(separator: "\n"))")
            #expect(lateOutcomes.count == late.count)
            #expect(onNewNode.count == moving.count * 2, "new subscribers of the channels \(newNode.id) owns now")
            let wrongLate = lateOutcomes.filter { $0.firstNode != ownersAfter[$0.firstChannel] }
            #expect(wrongLate.isEmpty, "new subscribers off the grown ring: \(wrongLate.prefix(5).map(\.plan))")
            let earlyStreamed = earlyOutcomes.filter { $0.plan.transport != .longPolling }
            let moved = earlyStreamed.filter {
                $0.connections.count != 1 || $0.firstNode != ownersBefore[$0.firstChannel]
            }
            #expect(moved.isEmpty, "subscribers that did not stay where they were: \(moved.prefix(5).map(\.plan))")
            let wrong = result.misrouted(after: routed + .seconds(1), owners: ownersAfter)
            #expect(
                wrong.isEmpty,
                "\(wrong.count) requests off the grown ring:\n\(wrong.prefix(10).joined(separator: "\n"))")
            for outcome in result.outcomes {
                #expect(outcome.failures.isEmpty || outcome.plan.transport == .longPolling, "\(outcome.failures)")
            }
        }
    }

    /// Polls through nginx until new connections for `channel` land on `node` (the reloaded
    /// configuration's workers took over), five times in a row.
    private func waitUntilRouted(_ channel: String, to node: LocalCluster.Node, front: UInt16) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        var streak = 0
        var last = "-"
        while streak < 5 {
            guard ContinuousClock.now < deadline else { throw HarnessError("nginx still routes \(channel) to \(last)") }
            let answer = try await RawHTTPClient.request(
                port: front, "GET", "/lp/\(channel)", headers: [("X-Nginx-PushStream-Mode", "polling")])
            last = answer.headers["X-Herald-Node"] ?? "-"
            streak = last == node.id ? streak + 1 : 0
            if streak == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
    }
}
