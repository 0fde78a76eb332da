import Foundation
import Histogram

/// Percentiles of a latency histogram (recorded in nanoseconds), in microseconds.
struct LatencyFigures: Codable, Sendable {
    var p50: Double
    var p99: Double
    var p999: Double
    var max: Double
    var count: UInt64

    init(_ histogram: Histogram<UInt64>) {
        p50 = Double(histogram.valueAtPercentile(50)) / 1000
        p99 = Double(histogram.valueAtPercentile(99)) / 1000
        p999 = Double(histogram.valueAtPercentile(99.9)) / 1000
        max = Double(histogram.max) / 1000
        count = histogram.totalCount
    }
}

/// A bench run's figures, printed for people and written as JSON for scripts.
struct BenchResult: Codable, Sendable {
    var command: String
    var subscribers = 0
    var messages = 0
    var expectedDeliveries = 0
    var deliveries = 0
    var duplicates = 0
    var gaps = 0
    var completeSubscribers = 0
    /// Subscribers the server answered with an error instead of a stream.
    var refusedSubscribers = 0
    var failedPublishes = 0
    /// Publishes still unanswered when `--timeout` ran out.
    var unansweredPublishes = 0
    var seconds = 0.0
    var deliveriesPerSecond = 0.0
    var publishesPerSecond = 0.0
    var latencyMicroseconds: LatencyFigures?
    var publishLatencyMicroseconds: LatencyFigures?
    var serverCPUSeconds: Double?
    var serverCPUMicrosecondsPerDelivery: Double?
    /// Busy CPU of the whole machine over the same window (the bench itself and Redis included).
    var machineCPUSeconds: Double?
    var machineCPUMicrosecondsPerDelivery: Double?
    /// With `--idle`: server and machine CPU per subscriber connected (the subscribe and its
    /// backlog read included).
    var serverCPUMicrosecondsPerConnect: Double?
    var machineCPUMicrosecondsPerConnect: Double?
    var serverRSSBytes: Int?
    var rssPerIdleSubscriberBytes: Double?
    /// With `--rss-every`: the server RSS as the idle subscribers connected, from 0 to all of them.
    var rssCurve: [RSSPoint]?
    /// The least-squares slope of `rssCurve`: resident bytes each further subscriber costs.
    var rssSlopeBytesPerSubscriber: Double?

    init(command: String) {
        self.command = command
    }

    /// Every subscriber got every message of its channel exactly once, in order.
    var isComplete: Bool {
        deliveries == expectedDeliveries && duplicates == 0 && gaps == 0 && failedPublishes == 0
            && unansweredPublishes == 0 && refusedSubscribers == 0
    }

    var text: String {
        var lines: [String] = []
        if refusedSubscribers > 0 { lines.append("refused subscribers: \(refusedSubscribers) of \(subscribers)") }
        if messages > 0 {
            lines.append(
                "deliveries: \(deliveries)/\(expectedDeliveries) in \(String(format: "%.2f", seconds)) s = "
                    + "\(Int(deliveriesPerSecond))/s; complete: \(isComplete ? "yes" : "NO") "
                    + "(duplicates \(duplicates), out of order/gaps \(gaps), failed publishes \(failedPublishes)"
                    + (unansweredPublishes > 0 ? ", unanswered publishes \(unansweredPublishes))" : ")"))
            if let l = latencyMicroseconds {
                lines.append(
                    "latency publish→receive µs: p50 \(Self.f(l.p50)) p99 \(Self.f(l.p99)) p999 \(Self.f(l.p999)) "
                        + "max \(Self.f(l.max))")
            }
            if let l = publishLatencyMicroseconds {
                lines.append(
                    "publish: \(Int(publishesPerSecond)) req/s; request latency µs: p50 \(Self.f(l.p50)) "
                        + "p99 \(Self.f(l.p99))")
            }
        }
        if let cpu = serverCPUMicrosecondsPerDelivery {
            lines.append(
                "server CPU: \(String(format: "%.3f", serverCPUSeconds ?? 0)) s = \(String(format: "%.3f", cpu)) µs "
                    + "per delivery (\(String(format: "%.3f", cpu / 10)) s per 100k)")
        }
        if let machine = machineCPUMicrosecondsPerDelivery {
            lines.append(
                "machine CPU: \(String(format: "%.3f", machineCPUSeconds ?? 0)) s = \(String(format: "%.3f", machine)) µs "
                    + "per delivery (everything running, this bench included)")
        }
        if let connect = serverCPUMicrosecondsPerConnect {
            lines.append(
                "server CPU per connect: \(String(format: "%.1f", connect)) µs; machine: "
                    + "\(String(format: "%.1f", machineCPUMicrosecondsPerConnect ?? 0)) µs")
        }
        if let rss = rssPerIdleSubscriberBytes {
            lines.append(
                "server RSS: \((serverRSSBytes ?? 0) / 1024) KiB; per idle subscriber: \(String(format: "%.0f", rss)) B"
            )
        }
        if let curve = rssCurve, let first = curve.first, let last = curve.last, let slope = rssSlopeBytesPerSubscriber
        {
            lines.append(
                "server RSS curve: \(curve.count) points, \(first.subscribers)→\(last.subscribers) subscribers, "
                    + "\(first.rssBytes / 1024)→\(last.rssBytes / 1024) KiB; slope \(Self.f(slope)) B per subscriber")
        }
        return lines.joined(separator: "\n")
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    private static func f(_ value: Double) -> String { String(format: "%.0f", value) }
}

/// The server's resident memory with this many subscribers connected.
struct RSSPoint: Codable, Sendable {
    var subscribers: Int
    var rssBytes: Int

    /// The least-squares slope of RSS against subscribers, in bytes per subscriber (nil under two distinct counts).
    static func slope(_ points: [RSSPoint]) -> Double? {
        guard points.count >= 2 else { return nil }
        let n = Double(points.count)
        let meanX = points.reduce(0.0) { $0 + Double($1.subscribers) } / n
        let meanY = points.reduce(0.0) { $0 + Double($1.rssBytes) } / n
        var covariance = 0.0
        var variance = 0.0
        for point in points {
            let dx = Double(point.subscribers) - meanX
            covariance += dx * (Double(point.rssBytes) - meanY)
            variance += dx * dx
        }
        return variance > 0 ? covariance / variance : nil
    }
}
