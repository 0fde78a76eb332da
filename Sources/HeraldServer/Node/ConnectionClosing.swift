import HeraldCore
import NIOCore

/// Closing a connection that may not be reading: its last bytes get a bounded time to leave.
enum ConnectionClosing {
    /// Closes `channel` once `lastWrite` has completed, or after `timeout` if it has not: a client
    /// that stopped reading cannot keep its socket open by never letting the flush finish.
    static func close(_ channel: any Channel, after lastWrite: EventLoopFuture<Void>?, timeout: TimeSpan) {
        guard let lastWrite else { return channel.close(promise: nil) }
        let forced = channel.eventLoop.scheduleTask(in: .milliseconds(timeout.milliseconds)) {
            channel.close(mode: .all, promise: nil)
        }
        lastWrite.whenComplete { _ in
            forced.cancel()
            channel.close(promise: nil)
        }
    }
}
