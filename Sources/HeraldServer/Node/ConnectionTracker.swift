import NIOConcurrencyHelpers
import NIOCore

/// The node's open connections, so shutdown can tell them to finish and wait until they have.
final class ConnectionTracker: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = channels.withLockedValue { $0.removeValue(forKey: id) }
        }
    }

    var count: Int { channels.withLockedValue { $0.count } }

    var all: [any Channel] { channels.withLockedValue { Array($0.values) } }
}

/// Sent down every connection's pipeline while the node stops.
enum ShutdownEvent: Sendable {
    /// Answer what arrives with `Connection: close`.
    case draining
    /// Close the connection if no request is in flight.
    case closeIdle
}
