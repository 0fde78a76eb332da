import Logging
import NIOCore
import NIOHTTP1

/// One admin API request, logged when it is answered: method, target, status, time taken and
/// the peer. Probes and scrapes (`/healthz`, `/readyz`, `/metrics`, whatever they answer) and
/// successful publishes are logged at debug, so the default level shows what an operator did (deletes, stats, presence,
/// refused keys, failed publishes) without a line per message.
struct AdminRequestLog {
    let method: HTTPMethod
    let target: String
    let route: Route
    let remote: SocketAddress?
    let started: NIODeadline

    init(_ request: HTTPRequest, route: Route, remote: SocketAddress?) {
        self.method = request.head.method
        self.target = request.head.uri
        self.route = route
        self.remote = remote
        self.started = .now()
    }

    func answered(_ status: HTTPResponseStatus, logger: Logger) {
        let routine: Bool =
            switch route {
            // Probes and scrapes come every few seconds: an outage is logged by the engine, not by each probe.
            case .health, .readiness, .metrics: true
            case .publisher: status.code < 300 && method != .DELETE
            default: false
            }
        let level: Logger.Level = routine ? .debug : (status.code >= 500 ? .warning : .info)
        guard logger.logLevel <= level else { return }
        let micros = (NIODeadline.now() - started).nanoseconds / 1_000
        logger.log(
            level: level, "admin request",
            metadata: [
                "http.method": "\(method.rawValue)", "http.target": "\(target)", "http.status": "\(status.code)",
                "duration_ms": "\(Double(micros) / 1_000)", "peer": "\(remote?.ipAddress ?? "-")",
            ])
    }
}
