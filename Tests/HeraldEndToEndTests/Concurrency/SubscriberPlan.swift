/// One subscriber of the concurrency test: how it connects, to what, from where, and when.
struct SubscriberPlan: Sendable, CustomStringConvertible {
    enum Transport: String, Sendable {
        case eventSource = "ev", webSocket = "ws", streaming = "sub", longPolling = "lp"
    }

    enum Resume: Sendable {
        /// No resume information: live messages only.
        case live
        /// `.bN` on every channel.
        case backtrack(Int)
        /// A Herald cursor `N` messages behind each channel's last id at join time.
        case cursor(back: Int)
        /// Polls from a cursor, then resumes with the poll's `Last-Modified` / `Etag` (time + tag).
        case timeTag(back: Int)
    }

    var name: String
    var transport: Transport
    var channels: [String]
    var resume: Resume
    var joinAfter: Duration
    /// Drop the connection after this many messages and reconnect from the last cursor (as a
    /// browser's EventSource does), again and again; nil to stay connected.
    var reconnectAfter: Int?

    var description: String {
        "\(name) [\(transport.rawValue) \(channels.joined(separator: "/")) \(resume)"
            + (reconnectAfter.map { " reconnect/\($0)" } ?? "") + "]"
    }
}
