import Foundation

/// A real Redis Cluster on loopback for one test: `masters` redis-servers in cluster mode (each
/// with `replicas` replicas), joined by `redis-cli --cluster create`, ready once every node says
/// `cluster_state:ok` with all 16,384 slots served. Stopped by the servers' pids.
public final class RedisClusterProcess: Sendable {
    /// Masters first (in creation order), then replicas.
    public let servers: [RedisServerProcess]
    public let masters: Int

    private init(servers: [RedisServerProcess], masters: Int) {
        self.servers = servers
        self.masters = masters
    }

    /// `redis://127.0.0.1:<port>` of every node, as a seed list.
    public var seeds: [String] { servers.map(\.url) }

    public static func start(masters: Int = 3, replicas: Int = 0) async throws -> RedisClusterProcess {
        var servers: [RedisServerProcess] = []
        do {
            for _ in 0..<(masters * (1 + replicas)) {
                let port = try FreePort.pickWithBusPort()
                servers.append(
                    try await RedisServerProcess.start(
                        port: port,
                        arguments: [
                            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "2000",
                        ]))
            }
            let cluster = RedisClusterProcess(servers: servers, masters: masters)
            try await cluster.create(replicas: replicas)
            try await cluster.waitUntilServing()
            return cluster
        } catch {
            for server in servers { server.stop() }
            throw error
        }
    }

    private func create(replicas: Int) async throws {
        let addresses = servers.map { "127.0.0.1:\($0.port)" }
        let arguments =
            ["--cluster", "create"] + addresses + ["--cluster-replicas", String(replicas), "--cluster-yes"]
        try await Blocking.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["redis-cli"] + arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw HarnessError("redis-cli --cluster create failed (\(process.terminationStatus)):\n\(text)")
            }
        }
    }

    /// Polls `CLUSTER INFO` on every node until each serves all slots, and every replica until
    /// its link to its master is up (a replica that never synced refuses to take over); fails
    /// after 20 s.
    public func waitUntilServing(timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        for (index, server) in servers.enumerated() {
            while true {
                let info = (try? await server.command("CLUSTER", "INFO"))?.string ?? ""
                let replication =
                    index < masters ? "" : (try? await server.command("INFO", "replication"))?.string ?? ""
                if info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
                    && (index < masters || replication.contains("master_link_status:up"))
                {
                    break
                }
                guard ContinuousClock.now < deadline else {
                    throw HarnessError("Redis Cluster not serving after \(timeout): \(info)\(replication)\n\(logs)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    public func stop() {
        for server in servers { server.stop() }
    }

    /// For failure messages: every node's log.
    public var logs: String {
        servers.map { "--- redis \($0.port)\n\($0.log)" }.joined(separator: "\n")
    }
}
