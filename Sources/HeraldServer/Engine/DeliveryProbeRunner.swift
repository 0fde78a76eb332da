import HeraldCore
import HeraldRedis
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// Runs ``DeliveryProbe`` for the Redis engine: a probe channel per route (one Redis, or each
/// master of a Redis Cluster, on a name whose slot that master serves), subscribed on the node's
/// own pub/sub connection; probes published through the command connection; a route whose probe
/// is late reconnected (which resubscribes and repairs every hosted channel from the backlogs)
/// and counted in `herald_delivery_probe_failures_total`, and the node not ready until a probe
/// comes back.
final class DeliveryProbeRunner: Sendable {
    /// One route: where its probes go.
    struct Route: Sendable, Hashable {
        /// How logs and the probe name it: `redis`, or a master's address.
        var name: String
        /// The pub/sub channel its probes travel on.
        var channel: String
    }

    private struct State {
        var probe: DeliveryProbe
        /// The route of each probe channel.
        var routes: [String: Route] = [:]
        /// Probe channels Redis confirmed on the pub/sub connection.
        var subscribed: Set<String> = []
        var subscribing: Set<String> = []
    }

    /// Every probe channel's name begins with this.
    let prefix: String
    private let state: NIOLockedValueBox<State>
    private let failures = Counter(label: "herald_delivery_probe_failures_total")
    private let logger: Logger

    init(prefix: String, interval: TimeAmount, timeout: TimeAmount, logger: Logger) {
        self.prefix = prefix
        self.logger = logger
        state = NIOLockedValueBox(
            State(
                probe: DeliveryProbe(
                    interval: interval.nanoseconds / 1_000_000, timeout: timeout.nanoseconds / 1_000_000)))
    }

    /// Whether every route delivered its last probe in time.
    var isDelivering: Bool { state.withLockedValue { $0.probe.isDelivering } }

    /// Whether a pub/sub message is a probe (handled here, never passed to the channels).
    func isProbe(_ channel: String) -> Bool { channel.hasPrefix(prefix) }

    /// A probe came back.
    func received(_ channel: String, payload: ByteBuffer) {
        guard let token = UInt64(String(buffer: payload)) else { return }
        let now = Self.now()
        let (actions, route) = state.withLockedValue { state -> ([DeliveryProbe.Action], Route?) in
            guard let route = state.routes[channel] else { return ([], nil) }
            return (state.probe.received(route: route.name, token: token, now: now), route)
        }
        if !actions.isEmpty, let route {
            logger.info("redis pub/sub delivers again", metadata: ["redis.route": "\(route.name)"])
        }
    }

    /// One round: subscribes the probe channels of `routes` not yet confirmed, and starts or
    /// checks the probes of the confirmed ones.
    ///
    /// - Parameters:
    ///   - publish: Sends one probe (`PUBLISH` or `SPUBLISH` of the token on the route's channel).
    ///   - reconnect: Drops a stalled route's pub/sub connection.
    func tick(
        routes: [Route], subscriber: any RedisPubSubService,
        publish: @escaping @Sendable (Route, UInt64) -> EventLoopFuture<Void>,
        reconnect: @escaping @Sendable (Route) -> Void
    ) {
        let now = Self.now()
        let (actions, toSubscribe, toLeave, byName) = state.withLockedValue { state in
            let wanted = Dictionary(routes.map { ($0.channel, $0) }, uniquingKeysWith: { first, _ in first })
            let leave = state.routes.keys.filter { wanted[$0] == nil }
            for channel in leave {
                state.subscribed.remove(channel)
                state.subscribing.remove(channel)
            }
            state.routes = wanted
            let join = wanted.keys.filter { !state.subscribed.contains($0) && !state.subscribing.contains($0) }
            state.subscribing.formUnion(join)
            let probed = routes.filter { state.subscribed.contains($0.channel) }
            let byName = Dictionary(probed.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            return (state.probe.tick(routes: probed.map(\.name), now: now), join, leave, byName)
        }
        if !toLeave.isEmpty { subscriber.unsubscribe(toLeave) }
        for channel in toSubscribe {
            subscriber.subscribe([channel]).whenComplete { [state] result in
                state.withLockedValue { state in
                    state.subscribing.remove(channel)
                    if case .success = result, state.routes[channel] != nil { state.subscribed.insert(channel) }
                }
            }
        }
        for action in actions {
            switch action {
            case .send(let name, let token):
                guard let route = byName[name] else { continue }
                publish(route, token).whenFailure { [state] _ in
                    state.withLockedValue { $0.probe.abandon(route: name, token: token) }
                }
            case .stalled(let name):
                failures.increment()
                logger.warning(
                    "redis pub/sub delivered no probe in time; reconnecting and repairing",
                    metadata: ["redis.route": "\(name)"])
                if let route = byName[name] { reconnect(route) }
            case .recovered:
                break
            }
        }
    }

    private static func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }
}
