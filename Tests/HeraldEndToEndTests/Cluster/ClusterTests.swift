import Foundation
import Testing

/// A real cluster on loopback — redis-server, three `herald serve --redis` nodes and nginx, started
/// by `cluster/up` and stopped by `cluster/down` — routing, failover, graceful stop and growth.
///
/// One test at a time (each runs its own cluster and a few hundred connections on a small
/// machine); the tests themselves are in extensions, one file each.
@Suite(.serialized, .enabled(if: ClusterTools.available, "needs redis-server, redis-cli, nginx and curl"))
struct ClusterTests {
    /// Options of every node: a backlog deep enough that no resume point falls off it.
    static let serveArguments = "--max-messages-stored-per-channel 2000"
}

enum ClusterTools {
    /// `cluster/up` runs `redis-server`, `redis-cli`, `nginx` and `curl` from `PATH`.
    static var available: Bool {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return ["redis-server", "redis-cli", "nginx", "curl"].allSatisfy { tool in
            path.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
    }
}
