import NIOConcurrencyHelpers
import NIOCore

/// The node's connections in their HTTP phase (reading or answering requests, long-polling), so
/// shutdown can tell them to finish and wait until they have. A subscriber that takes a connection
/// over is tracked by the registry from then on: an idle one costs no entry here and no close
/// callback.
final class ConnectionTracker: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    func track(_ channel: any Channel) {
        channels.withLockedValue { $0[ObjectIdentifier(channel)] = channel }
    }

    func untrack(_ channel: any Channel) {
        channels.withLockedValue { channels in
            channels[ObjectIdentifier(channel)] = nil
            // A burst of connections grew the table; an idle node need not keep it.
            if channels.isEmpty { channels = [:] }
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
