/// How a subscriber receives messages; push-stream's `push_stream_subscriber` modes.
public enum SubscriberMode: String, Sendable, Hashable, CaseIterable {
    /// A never-ending chunked response (the forever-iframe of the JavaScript client).
    case streaming
    /// Returns at once with the stored messages that match, or 304.
    case polling
    /// Waits for the next message, then returns it.
    case longPolling = "long-polling"
    /// `text/event-stream`, for the browser's `EventSource`.
    case eventSource = "eventsource"
    /// RFC 6455 WebSocket.
    case webSocket = "websocket"

    /// Whether the connection stays open and receives live messages as they come.
    var isLongLived: Bool {
        switch self {
        case .streaming, .eventSource, .webSocket: true
        case .polling, .longPolling: false
        }
    }
}
