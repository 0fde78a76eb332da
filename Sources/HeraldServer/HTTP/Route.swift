import Crypto
import NIOHTTP1

/// Which listener a request arrived on.
public enum ListenerRole: Sendable {
    /// Subscribers (and the publisher, with `--public-publisher`).
    case `public`
    /// Publisher in admin mode, statistics, health.
    case admin
}

/// Where a request goes, decided from its path alone.
enum Route: Equatable {
    case subscriber(SubscriberMode, channelsPath: Substring, forceArguments: Bool)
    case publisher(admin: Bool)
    case stats
    case presence
    case health
    case readiness
    case cluster
    case metrics
    case clientScript
    case notFound

    /// Whether a request may run while earlier ones are in flight: a publish, so a publisher's
    /// pipelined messages reach the engine together. Everything else runs alone.
    func runsConcurrently(method: HTTPMethod) -> Bool {
        guard case .publisher = self else { return false }
        return method == .POST || method == .PUT
    }

    /// The endpoint that serves this route, behind its key when one is set.
    func endpoint(node: NodeContext) -> any Endpoint {
        let endpoint = unkeyedEndpoint(node: node)
        let key =
            switch self {
            case .publisher: node.publisherKeyDigest
            case .stats, .presence, .cluster, .metrics: node.adminKeyDigest
            case .subscriber, .health, .readiness, .clientScript, .notFound: nil as SHA256Digest?
            }
        guard let key else { return endpoint }
        return KeyedEndpoint(keyDigest: key, inner: endpoint)
    }

    private func unkeyedEndpoint(node: NodeContext) -> any Endpoint {
        switch self {
        case .subscriber(let mode, let channelsPath, let forceArguments):
            SubscriberEndpoint(node: node, mode: mode, channelsPath: channelsPath, forceArguments: forceArguments)
        case .publisher(let admin): PublisherEndpoint(node: node, admin: admin)
        case .stats: StatsEndpoint(node: node)
        case .presence: PresenceEndpoint(node: node)
        case .health: HealthEndpoint()
        case .readiness: ReadinessEndpoint(node: node)
        case .cluster: ClusterEndpoint(node: node)
        case .metrics: MetricsEndpoint(node: node)
        case .clientScript: ClientScriptEndpoint()
        case .notFound: NotFoundEndpoint()
        }
    }

    /// The location layout of push-stream's example configuration.
    static let subscriberLocations: [(prefix: String, mode: SubscriberMode, forceArguments: Bool)] = [
        ("/sub", .streaming, false),
        ("/ev", .eventSource, false),
        ("/lp", .longPolling, false),
        ("/jsonp", .longPolling, true),
        ("/ws", .webSocket, false),
    ]

    static func resolve(path: Substring, role: ListenerRole, publicPublisher: Bool) -> Route {
        switch role {
        case .admin:
            switch path {
            case "/pub": return .publisher(admin: true)
            case "/channels-stats": return .stats
            case "/presence": return .presence
            case "/healthz": return .health
            case "/readyz": return .readiness
            case "/cluster": return .cluster
            case "/metrics": return .metrics
            default: return .notFound
            }
        case .public:
            if path == "/pub" { return publicPublisher ? .publisher(admin: false) : .notFound }
            if path == "/herald.js" { return .clientScript }
            for location in subscriberLocations where path.hasPrefix(location.prefix) {
                let rest = path.dropFirst(location.prefix.count)
                if rest.isEmpty {
                    return .subscriber(location.mode, channelsPath: rest, forceArguments: location.forceArguments)
                }
                if rest.first == "/" {
                    return .subscriber(
                        location.mode, channelsPath: rest.dropFirst(), forceArguments: location.forceArguments)
                }
            }
            return .notFound
        }
    }
}
