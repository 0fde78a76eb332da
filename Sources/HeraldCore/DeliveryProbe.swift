/// The end-to-end check of a node's pub/sub delivery: every `interval` the node publishes a probe
/// through each route it listens on (one Redis, or each shard of a Redis Cluster) and expects it
/// back on its own pub/sub connection within `timeout`. A connection can be up, answer its pings
/// and still deliver nothing (a subscription Redis dropped, a proxy that stopped forwarding);
/// only a message that makes the round trip proves delivery. A route whose probe is late is
/// *stalled* until one of its probes comes back.
///
/// Pure: the engine calls ``tick(routes:now:)`` on a timer and ``received(route:token:now:)`` for
/// each probe that arrives, and carries out the actions they return. Times are milliseconds.
public struct DeliveryProbe: Sendable {
    /// What the engine must do.
    public enum Action: Hashable, Sendable {
        /// Publish `token` through `route`.
        case send(route: String, token: UInt64)
        /// `route`'s probe did not come back in time: reconnect it and repair from the backlogs.
        case stalled(route: String)
        /// A probe came back through a stalled `route`: delivery works again.
        case recovered(route: String)
    }

    public let interval: Int64
    public let timeout: Int64

    private var outstanding: [String: (token: UInt64, sentAt: Int64)] = [:]
    private var lastSent: [String: Int64] = [:]
    /// The routes whose last probe was late and that have not delivered one since.
    public private(set) var stalled: Set<String> = []
    private var nextToken: UInt64 = 1

    /// - Parameters:
    ///   - interval: Milliseconds between two probes of one route.
    ///   - timeout: Milliseconds a probe may take to come back.
    public init(interval: Int64, timeout: Int64) {
        self.interval = max(1, interval)
        self.timeout = max(1, timeout)
    }

    /// How soon a stalled route is probed again: a quarter of the timeout.
    public var retryDelay: Int64 { max(1, timeout / 4) }

    /// Whether every route delivered its last probe in time.
    public var isDelivering: Bool { stalled.isEmpty }

    /// Checks the probes in flight and starts new ones on `routes` (the routes listened on now;
    /// others are forgotten).
    public mutating func tick(routes: [String], now: Int64) -> [Action] {
        let current = Set(routes)
        for route in Set(outstanding.keys).union(lastSent.keys).union(stalled) where !current.contains(route) {
            outstanding[route] = nil
            lastSent[route] = nil
            stalled.remove(route)
        }
        var actions: [Action] = []
        for route in routes {
            if let probe = outstanding[route] {
                guard now - probe.sentAt >= timeout else { continue }
                // Late: reported for every late probe (each asks for a reconnect). The next one
                // waits a little, so it is not published while that connection is being replaced.
                outstanding[route] = nil
                lastSent[route] = now
                stalled.insert(route)
                actions.append(.stalled(route: route))
                continue
            }
            if let last = lastSent[route], now - last < (stalled.contains(route) ? retryDelay : interval) { continue }
            let token = nextToken
            nextToken += 1
            outstanding[route] = (token, now)
            lastSent[route] = now
            actions.append(.send(route: route, token: token))
        }
        return actions
    }

    /// A probe arrived through `route`.
    public mutating func received(route: String, token: UInt64, now: Int64) -> [Action] {
        guard let probe = outstanding[route], probe.token == token else { return [] }
        outstanding[route] = nil
        return stalled.remove(route) != nil ? [.recovered(route: route)] : []
    }

    /// The probe of `route` could not be published (Redis refused or is unreachable): that is not a
    /// delivery stall, and the route is probed again at its next interval.
    public mutating func abandon(route: String, token: UInt64) {
        if outstanding[route]?.token == token { outstanding[route] = nil }
    }
}
