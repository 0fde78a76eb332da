import HeraldCore
import NIOConcurrencyHelpers

/// What this node knows of the cluster: the live members and the ring nginx routes by.
///
/// Refreshed from the engine every second. Routing is only an optimisation: a node serves any
/// channel, and counts the subscribers the ring would have sent elsewhere, so a misrouting load
/// balancer shows up in `/cluster` and `/metrics`.
final class ClusterView: Sendable {
    private struct State {
        var members: [ClusterMember] = []
        var ring = HashRing(nodes: [])
    }

    private let state = NIOLockedValueBox(State())
    private let misrouted = NIOLockedValueBox(0)
    let selfAdvertise: String
    private let metrics: NodeMetrics

    init(selfAdvertise: String, metrics: NodeMetrics) {
        self.selfAdvertise = selfAdvertise
        self.metrics = metrics
    }

    func update(_ members: [ClusterMember]) {
        let sorted = members.sorted { $0.id < $1.id }
        metrics.clusterMembers.record(sorted.filter(\.fresh).count)
        state.withLockedValue { state in
            guard state.members != sorted else { return }
            state.members = sorted
            // Routing is judged on the members that beat recently, as nginx stops sending to a dead one
            // at once: a crashed node must not make correctly routed subscribers count as misrouted.
            state.ring = HashRing(nodes: sorted.filter(\.fresh).map { HashRing.Node($0.advertise) })
        }
    }

    var members: [ClusterMember] { state.withLockedValue { $0.members } }

    /// The advertised address owning `channel`, or nil while no member is known.
    func owner(of channel: String) -> String? {
        state.withLockedValue { $0.ring.owner(of: channel)?.name }
    }

    /// Counts a subscriber whose first channel this node does not own.
    func subscriberArrived(firstChannel channel: String) {
        guard let owner = owner(of: channel), owner != selfAdvertise else { return }
        misrouted.withLockedValue { $0 += 1 }
        metrics.misroutedSubscribers.increment()
    }

    var misroutedSubscribers: Int { misrouted.withLockedValue { $0 } }

    /// Each member's share of the ring, by advertised address.
    var shares: [String: Double] { state.withLockedValue { $0.ring.shares() } }
}
