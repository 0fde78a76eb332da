import Foundation

/// What the failover tests check on a finished ``TrafficRun``.
extension TrafficRun.Result {
    /// Loss, duplicates, disorder, notices, and texts that differ between subscribers or miss an
    /// acknowledged publish. Empty when every subscriber got exactly its run of ids, in order.
    var deliveryViolations: [String] {
        var found: [String] = []
        for outcome in outcomes { found += outcome.log.violations(final: final) }
        var byID: [String: [Int: String]] = [:]
        for outcome in outcomes {
            for (channel, texts) in outcome.log.texts {
                for (id, text) in texts {
                    if let known = byID[channel]?[id], known != text {
                        found.append("\(channel) #\(id) is \(known) for one subscriber and \(text) for another")
                    }
                    byID[channel, default: [:]][id] = text
                }
            }
        }
        let received = byID.mapValues { Set($0.values) }
        let missing = publisher.acknowledgements.filter { received[$0.channel]?.contains($0.text) != true }
        if !missing.isEmpty {
            found.append(
                "\(missing.count) acknowledged publishes reached no subscriber: \(missing.prefix(5).map(\.text))")
        }
        return found
    }

    /// The same text stored under two ids: a publish retried after its first try had got through.
    var doublePublished: Int {
        var count = 0
        var texts: [String: Set<String>] = [:]
        for outcome in outcomes where outcome.plan.channels.count == 1 {
            let channel = outcome.firstChannel
            guard texts[channel] == nil, let byID = outcome.log.texts[channel] else { continue }
            texts[channel] = Set(byID.values)
            count += byID.count - texts[channel]!.count
        }
        return count
    }

    var messagesDelivered: Int { outcomes.reduce(0) { $0 + $1.log.ids.values.reduce(0) { $0 + $1.count } } }

    /// The subscribers whose first connection went to `node`.
    func subscribers(of node: String) -> [SubscriberOutcome] { outcomes.filter { $0.firstNode == node } }

    /// The streaming transports' subscribers (one long-lived connection each).
    var streamed: [SubscriberOutcome] { outcomes.filter { $0.plan.transport != .longPolling } }

    /// Subscribers whose connections, opened after `instant`, went elsewhere than `owners` says.
    func misrouted(after instant: ContinuousClock.Instant, owners: [String: String]) -> [String] {
        outcomes.flatMap { outcome in
            outcome.connections.filter { $0.requested > instant && $0.node != owners[outcome.firstChannel] }.map {
                "\(outcome.plan): connection at \(($0.requested - eventInstant).ms) ms after the event went to "
                    + "\($0.node ?? "?"), the ring says \(owners[outcome.firstChannel] ?? "?")"
            }
        }
    }

    /// For each subscriber that lost its node: event → connection lost, → reconnected, → first message again.
    func reconnectTimes(from node: String) -> (lost: [Duration], reconnected: [Duration], resumed: [Duration]) {
        var lost: [Duration] = []
        var reconnected: [Duration] = []
        var resumed: [Duration] = []
        for outcome in subscribers(of: node) where outcome.plan.transport != .longPolling {
            guard let first = outcome.connections.first, let ended = first.ended, outcome.connections.count > 1 else {
                continue
            }
            lost.append(ended - eventInstant)
            let next = outcome.connections[1]
            reconnected.append(next.opened - eventInstant)
            if let message = next.firstMessage { resumed.append(message - eventInstant) }
        }
        return (lost, reconnected, resumed)
    }

    func failures(of transport: SubscriberPlan.Transport) -> [String] {
        outcomes.filter { $0.plan.transport == transport }.flatMap { outcome in
            outcome.failures.map { "\(outcome.plan) at \(($0.at - eventInstant).ms) ms: \($0.what)" }
        }
    }
}

extension Duration {
    var ms: Int { Int(self / .milliseconds(1)) }
}

extension [Duration] {
    /// `median/p95/max ms (n)`.
    var spread: String {
        guard !isEmpty else { return "none" }
        let sorted = self.sorted()
        let pick = { (q: Double) in sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count) * q))].ms }
        return "median \(pick(0.5)) / p95 \(pick(0.95)) / max \(sorted.last!.ms) ms (n=\(count))"
    }
}
