/// A Prometheus text exposition read back: each sample by name and labels, for tests that check
/// metrics move with traffic.
public struct PrometheusScrape: Sendable {
    /// `name{a="1",b="2"}` (labels sorted) → value.
    public let samples: [String: Double]

    public init(_ text: String) {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else {
                samples[String(series)] = value
                continue
            }
            let labels = series[series.index(after: brace)..<series.index(before: series.endIndex)]
                .split(separator: ",").map(String.init).sorted()
            samples["\(series[..<brace]){\(labels.joined(separator: ","))}"] = value
        }
        self.samples = samples
    }

    /// The sample of `name` with exactly `labels`, nil when absent.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        guard !labels.isEmpty else { return samples[name] }
        let key = labels.map { "\($0.key)=\"\($0.value)\"" }.sorted().joined(separator: ",")
        return samples["\(name){\(key)}"]
    }

    /// The sum of every series of `name`, whatever its labels.
    public func total(_ name: String) -> Double {
        samples.filter { $0.key == name || $0.key.hasPrefix(name + "{") }.values.reduce(0, +)
    }

    /// Whether any series is named `name`.
    public func has(_ name: String) -> Bool {
        samples.keys.contains { $0 == name || $0.hasPrefix(name + "{") }
    }
}
