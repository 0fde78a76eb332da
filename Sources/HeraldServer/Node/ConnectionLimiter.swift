import Metrics
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many connections a listener holds: in all, and from one client address.
///
/// A connection is counted from the moment it is accepted until it closes, whatever it does
/// meanwhile (a request, a subscriber, nothing at all). One past a limit is answered with a bare
/// `503` and closed at once, before any HTTP handler exists for it: push-stream's clients treat a
/// 503 as "retry later", and the node never spends a request's worth of work on it.
///
/// Thread-safe. Accepts and closes happen on every event loop; one lock keeps the counts, held
/// for a dictionary update per connection and never across I/O.
final class ConnectionLimiter: Sendable {
    /// A counted connection; hand it back with ``release(_:)`` when the connection closes.
    struct Ticket: Sendable {
        fileprivate let address: String?
    }

    enum Refusal: String, Error, Sendable {
        /// The listener holds as many connections as it may.
        case listenerFull = "listener_full"
        /// The client's address holds as many connections as it may.
        case addressFull = "address_full"
    }

    private struct Counts {
        var open = 0
        var perAddress: [String: Int] = [:]
    }

    /// nil: no limit.
    let maxConnections: Int?
    /// nil: no limit.
    let maxPerAddress: Int?
    private let counts = NIOLockedValueBox(Counts())
    private let refusedFull: Counter
    private let refusedAddress: Counter
    private let open: Gauge

    /// - Parameters:
    ///   - maxConnections: Connections at once; nil or 0 for no limit.
    ///   - maxPerAddress: Connections from one address at once; nil or 0 for no limit.
    ///   - listener: Names the listener in metrics (`public`, `admin`).
    init(maxConnections: Int?, maxPerAddress: Int?, listener: String) {
        self.maxConnections = maxConnections.flatMap { $0 > 0 ? $0 : nil }
        self.maxPerAddress = maxPerAddress.flatMap { $0 > 0 ? $0 : nil }
        open = Gauge(label: "herald_open_connections", dimensions: [("listener", listener)])
        refusedFull = Counter(
            label: "herald_refused_connections_total",
            dimensions: [("listener", listener), ("reason", Refusal.listenerFull.rawValue)])
        refusedAddress = Counter(
            label: "herald_refused_connections_total",
            dimensions: [("listener", listener), ("reason", Refusal.addressFull.rawValue)])
    }

    /// Connections counted now.
    var openConnections: Int { counts.withLockedValue { $0.open } }

    /// Records the connections counted now in `herald_open_connections` (when metrics are scraped).
    func recordOpenConnections() { open.record(openConnections) }

    /// Counts a new connection from `address` (its IP, without the port), or says why it may not be.
    func admit(address: String?) -> Result<Ticket, Refusal> {
        let key = maxPerAddress == nil ? nil : address
        let result = counts.withLockedValue { counts -> Result<Ticket, Refusal> in
            if let max = maxConnections, counts.open >= max { return .failure(.listenerFull) }
            if let key, let max = maxPerAddress {
                let current = counts.perAddress[key, default: 0]
                if current >= max { return .failure(.addressFull) }
                counts.perAddress[key] = current + 1
            }
            counts.open += 1
            return .success(Ticket(address: key))
        }
        switch result {
        case .success: break
        case .failure(.listenerFull): refusedFull.increment()
        case .failure(.addressFull): refusedAddress.increment()
        }
        return result
    }

    /// The connection of `ticket` closed.
    func release(_ ticket: Ticket) {
        counts.withLockedValue { counts in
            counts.open -= 1
            guard let key = ticket.address, let current = counts.perAddress[key] else { return }
            if current <= 1 {
                counts.perAddress[key] = nil
                // A burst of addresses grew the table; a quiet node need not keep it.
                if counts.perAddress.isEmpty { counts.perAddress = [:] }
            } else {
                counts.perAddress[key] = current - 1
            }
        }
    }

    /// What a refused connection is sent before it is closed.
    static let refusalResponse =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"

    /// Counts `channel`, releasing it when it closes; or writes the refusal and closes it.
    /// Call from the child channel initializer, before any handler is added. Returns whether it was admitted.
    func admit(_ channel: any Channel) -> Bool {
        // The address only matters (and its text is only made) when there is a per-address limit.
        switch admit(address: maxPerAddress == nil ? nil : channel.remoteAddress?.ipAddress) {
        case .success(let ticket):
            channel.closeFuture.whenComplete { [self] _ in release(ticket) }
            return true
        case .failure:
            // The pipeline is empty: the bytes go straight to the socket, which takes them at once.
            channel.writeAndFlush(ByteBuffer(string: Self.refusalResponse), promise: nil)
            channel.close(promise: nil)
            return false
        }
    }
}

/// The node's connection limits, as the settings resolve them.
public enum ConnectionLimits {
    /// Descriptors kept back from the public listener beside the admin listener's cap: listeners,
    /// Redis connections, log files, the odd descriptor the runtime opens.
    public static let reserve = 256

    /// The public listener's cap when none is set: the descriptor limit minus what the admin
    /// listener and the node itself need (at most half the limit), so when subscribers fill the
    /// public listener, health checks and publishers still get in.
    public static func defaultMaxConnections(fileLimit: Int, adminConnections: Int) -> Int {
        let kept = min(adminConnections + reserve, fileLimit / 2)
        return max(1, fileLimit - kept)
    }

    /// This process's descriptor limit (RLIMIT_NOFILE, soft); nil when unlimited or unknown.
    public static var fileLimit: Int? {
        var limit = rlimit()
        #if canImport(Glibc)
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        #else
        guard getrlimit(RLIMIT_NOFILE, &limit) == 0 else { return nil }
        #endif
        // RLIM_INFINITY is the largest value (Linux) or Int64.max (Darwin): either way not below Int.max.
        guard limit.rlim_cur < rlim_t(Int.max) else { return nil }
        return Int(limit.rlim_cur)
    }

    /// The public listener's cap for `settings`: nil for no limit.
    public static func maxConnections(_ settings: NodeSettings, fileLimit: Int? = ConnectionLimits.fileLimit) -> Int? {
        if let configured = settings.maxConnections { return configured > 0 ? configured : nil }
        return fileLimit.map { defaultMaxConnections(fileLimit: $0, adminConnections: settings.maxAdminConnections) }
    }
}
