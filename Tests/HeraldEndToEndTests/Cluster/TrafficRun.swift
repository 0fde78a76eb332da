import Foundation
import HeraldTesting

/// Resuming subscribers on a set of channels and a steady publish stream, all through nginx, with
/// something done to the cluster part-way through (a node killed, stopped, added).
struct TrafficRun {
    let cluster: LocalCluster
    let channels: [String]
    let plans: [SubscriberPlan]
    var messages = 3_000
    var publishDuration = Duration.seconds(8)
    /// The event happens once this fraction of the messages is published.
    var eventAt = 0.35
    var deadline = Duration.seconds(45)

    struct Result {
        var outcomes: [SubscriberOutcome]
        var final: [String: Int]
        var publisher: SteadyPublisher
        var eventInstant: ContinuousClock.Instant
        var subscribed: ContinuousClock.Duration
    }

    /// Runs it. `event` acts on the cluster and returns subscribers to start right after it
    /// (they resume from each channel's last id at the moment they join).
    func run(event: () async throws -> [SubscriberPlan]) async throws -> Result {
        let control = TrafficControl(deadline: .after(deadline))
        let front = cluster.frontPort
        let publisher = SteadyPublisher(channels: channels, total: messages, over: publishDuration, port: front)
        let started = ContinuousClock.now
        let expectedFirst = Dictionary(uniqueKeysWithValues: channels.map { ($0, 1) })
        return try await withThrowingTaskGroup(of: SubscriberOutcome.self) { group in
            do {
                for (index, plan) in plans.enumerated() {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(4 * index))
                        return try await Blocking.run {
                            ResumingSubscriber(plan: plan, port: front, control: control, expectedFirst: expectedFirst)
                                .run()
                        }
                    }
                }
                try await waitUntilSubscribed(control)
                let subscribed = ContinuousClock.now - started
                async let published: Void = publisher.run(deadline: control.deadline)
                while publisher.acknowledgedCount < Int(Double(messages) * eventAt) && !control.deadline.hasPassed {
                    try await Task.sleep(for: .milliseconds(5))
                }
                let eventInstant = ContinuousClock.now
                for plan in try await event() {
                    let admin = try anyAdminPort()
                    group.addTask {
                        try await Blocking.run {
                            let start = try Self.lastIDs(adminPort: admin, plan.channels)
                            return ResumingSubscriber(plan: plan, port: front, control: control, start: start).run()
                        }
                    }
                }
                try await published
                let admin = try anyAdminPort()
                let final = try await Blocking.run { try Self.lastIDs(adminPort: admin, channels) }
                control.finish.announce(final)
                var outcomes: [SubscriberOutcome] = []
                for try await outcome in group { outcomes.append(outcome) }
                return Result(
                    outcomes: outcomes, final: final, publisher: publisher, eventInstant: eventInstant,
                    subscribed: subscribed)
            } catch {
                control.abort()
                throw error
            }
        }
    }

    private func anyAdminPort() throws -> UInt16 {
        guard let node = cluster.runningNodes.first else { throw HarnessError("no node is running") }
        return node.adminPort
    }

    /// Every subscriber has its answer, and every node has registered its subscribers (the
    /// cluster-wide counts of channel info), so none misses the first message.
    private func waitUntilSubscribed(_ control: TrafficControl) async throws {
        let limit = ContinuousClock.now + .seconds(20)
        while control.subscribers < plans.count {
            guard ContinuousClock.now < limit else {
                throw HarnessError("only \(control.subscribers) of \(plans.count) subscribers got an answer")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        var expected: [String: Int] = [:]
        for plan in plans {
            for channel in plan.channels { expected[channel, default: 0] += 1 }
        }
        let admin = try anyAdminPort()
        var counts: [String: Int] = [:]
        while ContinuousClock.now < limit {
            counts = try await Blocking.run { try Self.subscriberCounts(adminPort: admin, channels) }
            if counts == expected { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("subscriber counts \(counts.sorted { $0.key < $1.key }), expected \(expected)")
    }

    /// Each channel's last id (0 for a channel not created yet), from a node's channel info.
    static func lastIDs(adminPort: UInt16, _ channels: [String]) throws -> [String: Int] {
        try channelInfo(adminPort: adminPort, channels, field: "published_messages")
    }

    static func subscriberCounts(adminPort: UInt16, _ channels: [String]) throws -> [String: Int] {
        try channelInfo(adminPort: adminPort, channels, field: "subscribers")
    }

    private static func channelInfo(adminPort: UInt16, _ channels: [String], field: String) throws -> [String: Int] {
        let client = try RawHTTPClient(port: adminPort)
        defer { client.close() }
        var values: [String: Int] = [:]
        for channel in channels {
            let response = try client.request(
                "GET", "/pub?id=\(Query.encode(channel))", headers: LocalCluster.publisherHeaders)
            guard response.status == 200 else {
                values[channel] = 0
                continue
            }
            guard let value = JSON.int(try JSON.object(response.body)[field]) else {
                throw HarnessError("channel info of \(channel) has no \(field): \(response.text)")
            }
            values[channel] = value
        }
        return values
    }
}
