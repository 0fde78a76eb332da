import NIOCore

/// What is written into a Redis channel: encoded commands, and who awaits their replies.
///
/// The handler that accepts a request owns its response promise from then on; a request it rejects has
/// its write promise failed, and the sender fails the response.
struct RedisRequest: Sendable {
    /// Who receives the replies to the commands in ``bytes``.
    enum Response: Sendable {
        /// One command; an error reply fails the promise with ``RedisError/server(_:)``.
        case single(EventLoopPromise<RESPValue>)
        /// `count` commands; every reply, error replies included, lands in the array.
        case batch(count: Int, EventLoopPromise<[RESPValue]>)
        /// Pub/sub commands awaiting `count` subscribe/unsubscribe confirmations.
        case confirmations(count: Int, EventLoopPromise<Void>)

        /// The commands this response answers.
        var commandCount: Int {
            switch self {
            case .single: 1
            case .batch(let count, _): count
            case .confirmations: 1
            }
        }

        /// Fails the promise with `error`.
        func fail(_ error: RedisError) {
            switch self {
            case .single(let promise):
                promise.fail(error)
            case .batch(_, let promise):
                promise.fail(error)
            case .confirmations(_, let promise):
                promise.fail(error)
            }
        }
    }

    /// One or more commands in RESP.
    var bytes: ByteBuffer
    /// Who awaits the replies.
    var response: Response
}

/// A pub/sub push, or a subscription change Redis confirmed, in the order Redis sent them.
enum PubSubEvent {
    /// A message published to `channel`.
    case message(channel: String, payload: ByteBuffer)
    /// Redis confirmed the subscription to `channel`.
    case subscribed(String)
    /// Redis confirmed leaving `channel`.
    case unsubscribed(String)
}
