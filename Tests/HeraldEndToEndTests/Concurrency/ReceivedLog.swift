import HeraldTesting

/// What one subscriber of the concurrency test received, and what it should have.
struct ReceivedLog: Sendable {
    let plan: SubscriberPlan
    /// The exact first id each channel must start at, when the resume point says so.
    var expectedFirst: [String: Int] = [:]
    /// A lower bound for the first id (messages before it were published before the subscriber asked).
    var minimumFirst: [String: Int] = [:]
    /// The id the subscriber is known to be past before receiving anything.
    var baseline: [String: Int] = [:]
    var ids: [String: [Int]] = [:]
    var texts: [String: [Int: String]] = [:]
    var problems: [String] = []

    init(plan: SubscriberPlan) {
        self.plan = plan
    }

    mutating func record(_ message: PushMessage) {
        guard plan.channels.contains(message.channel) else {
            problems.append("message for a foreign channel: \(message)")
            return
        }
        ids[message.channel, default: []].append(message.id)
        texts[message.channel, default: [:]][message.id] = message.text
    }

    /// Every channel has reached its final id.
    func isComplete(final: [String: Int]) -> Bool {
        plan.channels.allSatisfy { channel in
            (ids[channel]?.last ?? baseline[channel] ?? 0) >= (final[channel] ?? 0)
        }
    }

    /// Everything wrong with what was received, given each channel's final id.
    func violations(final: [String: Int]) -> [String] {
        var found = problems
        for channel in plan.channels {
            let got = ids[channel] ?? []
            let last = final[channel] ?? 0
            if let first = got.first {
                let expected = Array(first...max(first, last))
                if got != expected {
                    found.append("\(channel): ids not the contiguous run \(first)…\(last): \(Self.summarize(got))")
                }
            }
            if let exact = expectedFirst[channel] {
                if exact <= last && got.first != exact {
                    found.append(
                        "\(channel): should start at \(exact), started at \(got.first.map(String.init) ?? "nothing")")
                }
                if exact > last && !got.isEmpty {
                    found.append("\(channel): expected nothing, got \(Self.summarize(got))")
                }
            }
            if let minimum = minimumFirst[channel], let first = got.first, first < minimum {
                found.append("\(channel): first id \(first) is older than \(minimum)")
            }
            if (got.last ?? baseline[channel] ?? 0) != last {
                found.append("\(channel): ended at \(got.last.map(String.init) ?? "nothing"), last id is \(last)")
            }
        }
        return found.map { "\(plan): \($0)" }
    }

    /// A compact view of an id list, showing where it breaks.
    static func summarize(_ ids: [Int]) -> String {
        var breaks: [String] = []
        for i in ids.indices.dropFirst() where ids[i] != ids[i - 1] + 1 {
            breaks.append("\(ids[i - 1])→\(ids[i])")
            if breaks.count == 5 { break }
        }
        return "\(ids.count) ids \(ids.first ?? 0)…\(ids.last ?? 0), breaks: \(breaks)"
    }
}
