import HeraldTesting

/// Who subscribes to what in the failover tests.
enum TrafficPlans {
    /// How many subscribers of each transport every channel gets.
    struct Mix: Sendable {
        var eventSource = 3
        var webSocket = 2
        var streaming = 2
        var longPolling = 1
        /// Subscribers of two channels each (the first decides the node), by transport.
        var twoChannels: [SubscriberPlan.Transport: Int] = [
            .eventSource: 6, .webSocket: 4, .streaming: 2, .longPolling: 4,
        ]

        var perChannel: Int { eventSource + webSocket + streaming + longPolling }
    }

    /// The subscribers of `channels`, transports interleaved so that every node gets every kind.
    static func plans(_ channels: [String], mix: Mix, name: String) -> [SubscriberPlan] {
        typealias Transport = SubscriberPlan.Transport
        let kinds: [(Transport, Int)] = [
            (.eventSource, mix.eventSource), (.webSocket, mix.webSocket), (.streaming, mix.streaming),
            (.longPolling, mix.longPolling),
        ]
        var plans: [SubscriberPlan] = []
        func add(_ transport: Transport, _ subscribed: [String]) {
            plans.append(
                SubscriberPlan(
                    name: "\(name)\(plans.count)", transport: transport, channels: subscribed, resume: .live,
                    joinAfter: .zero, reconnectAfter: nil))
        }
        for round in 0..<(kinds.map(\.1).max() ?? 0) {
            for (transport, count) in kinds where round < count {
                for channel in channels { add(transport, [channel]) }
            }
        }
        var pair = 0
        for (transport, _) in kinds {
            for _ in 0..<(mix.twoChannels[transport] ?? 0) where channels.count > 1 {
                add(
                    transport,
                    [channels[pair % channels.count], channels[(pair + channels.count / 2) % channels.count]])
                pair += 1
            }
        }
        return plans
    }

    /// `perOwner` channels for each owner in `owners` (channel → owner), deterministic.
    static func balanced(_ owners: [String: String], perOwner: Int) throws -> [String] {
        var picked: [String: [String]] = [:]
        for channel in owners.keys.sorted(by: { $0.numericOrder < $1.numericOrder }) {
            let owner = owners[channel]!
            if picked[owner, default: []].count < perOwner { picked[owner, default: []].append(channel) }
        }
        guard picked.values.allSatisfy({ $0.count == perOwner }) else {
            throw HarnessError("not \(perOwner) candidate channels for every owner: \(picked.mapValues(\.count))")
        }
        // Interleaved by owner, so consecutive channels live on different nodes.
        let columns = picked.keys.sorted().map { picked[$0]! }
        return (0..<perOwner).flatMap { row in columns.map { $0[row] } }
    }

    /// Candidate channel names: `live-0`, `live-1`…
    static func candidates(_ count: Int, prefix: String = "live") -> [String] {
        (0..<count).map { "\(prefix)-\($0)" }
    }
}

extension String {
    /// `live-7` before `live-12`: the number after the last dash, then the text.
    fileprivate var numericOrder: Int { Int(split(separator: "-").last ?? "") ?? 0 }
}
