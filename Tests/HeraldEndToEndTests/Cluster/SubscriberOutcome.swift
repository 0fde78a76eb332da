import Foundation

/// One connection (or, for long-polling, one request) of a failover subscriber.
struct ConnectionRecord: Sendable {
    enum Ending: Sendable, Equatable, CustomStringConvertible {
        /// Still open when the subscriber stopped (it had everything).
        case open
        /// EventSource: a `retry:` line, then the end of the stream.
        case retryHint(Int)
        /// WebSocket: a close frame, with its code if it had one.
        case closeFrame(UInt16?)
        /// The body ended properly (last chunk, footer): streaming, EventSource without a hint, a long-poll answer.
        case endOfStream
        /// The connection went away mid-stream (reset, or nginx closing it when the node died).
        case dropped

        var description: String {
            switch self {
            case .open: "open"
            case .retryHint(let ms): "retry \(ms) ms"
            case .closeFrame(let code): "close \(code.map(String.init) ?? "-")"
            case .endOfStream: "end"
            case .dropped: "dropped"
            }
        }
    }

    /// `X-Herald-Node` of the answer.
    var node: String?
    var requested: ContinuousClock.Instant
    var opened: ContinuousClock.Instant
    var firstMessage: ContinuousClock.Instant?
    var ended: ContinuousClock.Instant?
    var ending: Ending = .open
    var messages = 0
}

/// Everything one failover subscriber saw.
struct SubscriberOutcome: Sendable {
    var log: ReceivedLog
    var connections: [ConnectionRecord] = []
    /// Attempts that did not get a subscription (refused, failed to connect), with when.
    var failures: [(at: ContinuousClock.Instant, what: String)] = []

    var plan: SubscriberPlan { log.plan }
    var firstChannel: String { plan.channels[0] }
    /// The node of the first connection.
    var firstNode: String? { connections.first?.node }
}
