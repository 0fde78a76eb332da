import Foundation
import HeraldTesting

#if canImport(Glibc)
import Glibc
#endif

/// A steady stream of publishes through nginx's round-robin `/pub`, on keep-alive connections,
/// paced to a schedule. A publish answered 502/503/504 (the node died, or was stopping) is
/// retried; a lost connection is retried on a new one (that one may have been published: it
/// counts as ambiguous). Only 200s count as published.
final class SteadyPublisher: @unchecked Sendable {
    struct Acknowledged: Sendable {
        var channel: String
        var text: String
        var at: ContinuousClock.Instant
    }

    let channels: [String]
    let total: Int
    let publishers: Int
    let duration: Duration
    let port: UInt16
    private let lock = NSLock()
    private var acknowledged: [Acknowledged] = []
    private var retriedStatuses: [Int: Int] = [:]
    private var ambiguous = 0

    init(channels: [String], total: Int, publishers: Int = 2, over duration: Duration, port: UInt16) {
        self.channels = channels
        self.total = total
        self.publishers = publishers
        self.duration = duration
        self.port = port
    }

    var acknowledgedCount: Int { lock.withLock { acknowledged.count } }
    var acknowledgements: [Acknowledged] { lock.withLock { acknowledged } }
    var summary: String {
        lock.withLock {
            "\(acknowledged.count) published, retried after \(retriedStatuses.sorted { $0.key < $1.key }), "
                + "\(ambiguous) lost connections"
        }
    }

    /// The longest time between two consecutive acknowledgements (the publish outage).
    var longestGap: Duration {
        let times = acknowledgements.map(\.at).sorted()
        return zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? .zero
    }

    /// Publishes message k (`m<k>` to channel k mod channels) for k < total, from `publishers`
    /// threads, each with its own keep-alive connection.
    func run(deadline: Deadline) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for publisher in 0..<publishers {
                group.addTask { try await Blocking.run { try self.publish(from: publisher, deadline: deadline) } }
            }
            try await group.waitForAll()
        }
    }

    private func publish(from publisher: Int, deadline: Deadline) throws {
        let start = ContinuousClock.now
        let interval = duration / (total / publishers)
        var client: RawHTTPClient?
        defer { client?.close() }
        for (step, k) in stride(from: publisher, to: total, by: publishers).enumerated() {
            let due = start + interval * step
            if due > .now { usleep(UInt32((due - .now) / .microseconds(1))) }
            let channel = channels[k % channels.count]
            let text = "m\(k)"
            while true {
                guard !deadline.hasPassed else { throw HarnessError("publisher \(publisher) out of time at m\(k)") }
                let status: Int
                do {
                    if client == nil { client = try RawHTTPClient(port: port) }
                    let response = try client!.request(
                        "POST", "/pub?id=\(channel)", headers: LocalCluster.publisherHeaders, body: Array(text.utf8))
                    status = response.status
                    if response.headers["Connection"]?.lowercased() == "close" {
                        // nginx ends a keep-alive connection after so many requests.
                        client?.close()
                        client = nil
                    }
                } catch {
                    client?.close()
                    client = nil
                    lock.withLock { ambiguous += 1 }
                    usleep(20_000)
                    continue
                }
                if status == 200 {
                    lock.withLock { acknowledged.append(Acknowledged(channel: channel, text: text, at: .now)) }
                    break
                }
                guard [502, 503, 504].contains(status) else {
                    throw HarnessError("publishing \(text) to \(channel) answered \(status)")
                }
                lock.withLock { retriedStatuses[status, default: 0] += 1 }
                usleep(20_000)
            }
        }
    }
}
