import NIOCore

/// The frames a subscriber was given during one turn of its event loop, handed to the pipeline as
/// one buffer when the shard flushes: messages that arrive together cost one trip through NIO's
/// pipeline and write queue, not one each. Empty (and holding nothing) between turns.
struct OutgoingFrames {
    private var pending: ByteBuffer?

    /// Adds a frame. The first is kept as it is (it shares the rendered message's storage); a
    /// second one copies both into a buffer of this subscriber's own.
    mutating func append(_ frame: ByteBuffer) {
        guard pending != nil else {
            pending = frame
            return
        }
        var frame = frame
        pending!.writeBuffer(&frame)
    }

    /// The frames gathered since the last call, if any.
    mutating func take() -> ByteBuffer? {
        defer { pending = nil }
        return pending
    }
}
