import Foundation
import HeraldTesting

#if canImport(Glibc)
import Glibc
#endif

/// What the test and its subscriber threads share: the final ids once publishing is over, and
/// one deadline for everything.
final class TrafficControl: @unchecked Sendable {
    let finish = FinishLine()
    let deadline: Deadline
    private let lock = NSLock()
    private var subscribed = 0
    private var aborted = false

    init(deadline: Deadline) {
        self.deadline = deadline
    }

    /// A subscriber got its first answer.
    func didSubscribe() { lock.withLock { subscribed += 1 } }
    var subscribers: Int { lock.withLock { subscribed } }

    /// Something failed: every subscriber stops now.
    func abort() { lock.withLock { aborted = true } }
    var isAborted: Bool { lock.withLock { aborted } }
}

/// A subscriber that behaves as a real client does when its connection goes: it reconnects
/// through nginx and resumes where it stopped — EventSource with `Last-Event-ID` (its last `id:`),
/// WebSocket and streaming with `?cursor=hc:<channel>:<last id>` built from the last message,
/// long-polling with the `Last-Modified`/`Etag` of its last answer. Runs on its own thread;
/// every read has a deadline. Stops once it has every channel's final id, or at the deadline.
final class ResumingSubscriber {
    let port: UInt16
    let control: TrafficControl
    var outcome: SubscriberOutcome
    let readSlice = Duration.milliseconds(200)
    /// The `id:` of the last EventSource event.
    var lastEventID: String?
    /// What the next long-poll sends: the `Last-Modified` and `Etag` of the last answer.
    var pollHeaders: [(String, String)] = []

    /// - Parameters:
    ///   - start: each channel's last id when the subscriber starts: it resumes from there (a page
    ///     that knows where it is); nil for a fresh subscriber (live messages only).
    ///   - expectedFirst: for a fresh subscriber, the first id it must get on each channel.
    init(
        plan: SubscriberPlan, port: UInt16, control: TrafficControl, start: [String: Int]? = nil,
        expectedFirst: [String: Int] = [:]
    ) {
        self.port = port
        self.control = control
        var log = ReceivedLog(plan: plan)
        log.expectedFirst = expectedFirst
        if let start {
            log.baseline = start
            log.expectedFirst = start.mapValues { $0 + 1 }
        }
        outcome = SubscriberOutcome(log: log)
        resumeFromStart = start != nil
        if start != nil { pollHeaders = [("If-None-Match", cursor)] }
    }

    private let resumeFromStart: Bool
    private var announced = false
    var plan: SubscriberPlan { outcome.plan }

    func run() -> SubscriberOutcome {
        while !shouldStop() {
            do {
                switch plan.transport {
                case .eventSource: try readEventSource()
                case .webSocket: try readWebSocket()
                case .streaming: try readStreaming()
                case .longPolling: try longPoll()
                }
            } catch {
                fail("\(error)")
            }
            guard !shouldStop() else { break }
            pause(after: outcome.connections.last?.ending)
        }
        if !isComplete { outcome.log.problems.append("stopped at the deadline without everything") }
        return outcome
    }

    var isComplete: Bool {
        guard let final = control.finish.finalIDs else { return false }
        return outcome.log.isComplete(final: final)
    }

    func shouldStop() -> Bool { isComplete || control.deadline.hasPassed || control.isAborted }

    func fail(_ what: String) {
        outcome.failures.append((ContinuousClock.now, what))
    }

    /// The wait before reconnecting: the server's `retry:` hint, else a short, jittered pause.
    private func pause(after ending: ConnectionRecord.Ending?) {
        var delay = Int.random(in: 50...250)
        if case .retryHint(let ms) = ending { delay = ms }
        usleep(UInt32(delay) * 1_000)
    }

    /// Whether anything was received (or a start point given): reconnects resume from there.
    var hasPosition: Bool { resumeFromStart || !outcome.log.ids.isEmpty }

    /// `hc:<channel>:<last id>,…` from what was received (the start point for a channel with nothing yet).
    var cursor: String {
        "hc:"
            + plan.channels.map { channel in
                let last = outcome.log.ids[channel]?.last ?? outcome.log.baseline[channel] ?? 0
                return "\(channel):\(last)"
            }.joined(separator: ",")
    }

    var basePath: String { "/\(plan.transport.rawValue)/" + plan.channels.joined(separator: "/") }

    /// Records one message; a notice (negative id) is a problem, except a streaming ping (-1).
    func record(_ message: PushMessage, in connection: inout ConnectionRecord) {
        if message.id < 0 {
            if message.id != -1 {
                outcome.log.problems.append("notice \(message.id) \(message.text) on \(message.channel)")
            }
            return
        }
        outcome.log.record(message)
        connection.messages += 1
        if connection.firstMessage == nil { connection.firstMessage = .now }
    }

    /// Tells the test this subscriber is in (once).
    func announce() {
        guard !announced else { return }
        announced = true
        control.didSubscribe()
    }

    /// Starts a connection record once the answer's head is in.
    func opened(requested: ContinuousClock.Instant, head: HTTPHead) -> ConnectionRecord {
        announce()
        return ConnectionRecord(node: head.headers["X-Herald-Node"], requested: requested, opened: .now)
    }

    func closed(_ connection: ConnectionRecord, _ ending: ConnectionRecord.Ending) {
        var connection = connection
        connection.ending = ending
        connection.ended = .now
        outcome.connections.append(connection)
    }
}
