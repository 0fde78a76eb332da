import Foundation
import HeraldTesting

#if canImport(Glibc)
import Glibc
#endif

/// A real cluster on loopback, started by `cluster/up` (redis-server, N `herald serve --redis`
/// nodes, nginx in front) with the debug `herald` next to the tests, in a temporary folder, on
/// ports nobody uses; stopped by `cluster/down`, then by pid for whatever is left.
///
/// Ports: nodes on `base`, `base+1`…, their admin listeners 100 higher, nginx on `base+50`, Redis
/// on `base+51`; a block below the kernel's ephemeral range, checked free before starting.
final class LocalCluster: @unchecked Sendable {
    struct Node: Sendable, CustomStringConvertible {
        let id: String
        let port: UInt16
        let pid: Int32
        var adminPort: UInt16 { port + 100 }
        var advertise: String { "127.0.0.1:\(port)" }
        var description: String { "\(id)@\(port)" }
    }

    static let upScript = Repository.file("cluster/up")
    static let downScript = Repository.file("cluster/down")
    /// Nodes a test may add beyond those `cluster/up` starts.
    static let spareNodes = 2

    let directory: URL
    let basePort: UInt16
    let serveArguments: String
    let herald: URL
    var frontPort: UInt16 { basePort + 50 }
    var redisPort: UInt16 { basePort + 51 }
    private let lock = NSLock()
    private var started: [Node] = []
    private var nginx: Int32 = 0
    private var stopped = false

    private init(directory: URL, basePort: UInt16, serveArguments: String, herald: URL) {
        self.directory = directory
        self.basePort = basePort
        self.serveArguments = serveArguments
        self.herald = herald
    }

    deinit {
        // A test that forgot (or could not) stop: no process may outlive it.
        for pid in recordedPIDs() where ChildReaper.shared.isRunning(pid) { kill(pid, SIGKILL) }
    }

    /// Every node started so far, killed or not, in start order.
    var nodes: [Node] { lock.withLock { started } }
    var nginxPID: Int32 { lock.withLock { nginx } }
    var pidsFile: URL { directory.appendingPathComponent("pids") }

    func node(_ id: String) throws -> Node {
        guard let node = nodes.first(where: { $0.id == id }) else { throw HarnessError("no node \(id)") }
        return node
    }

    /// The publisher key the cluster runs with (`cluster/up` requires one on `/pub`).
    static let publisherKey = "cluster-test-publisher-key"
    /// The header every publish and channel-info request through or to the cluster carries.
    static let publisherHeaders = [("Authorization", "Bearer \(publisherKey)")]

    /// The environment `cluster/up` and `cluster/down` read.
    var environment: [String: String] {
        [
            "HERALD_BIN": herald.path, "HERALD_CLUSTER_DIR": directory.path,
            "HERALD_FRONT_PORT": String(frontPort), "HERALD_REDIS_PORT": String(redisPort),
            "HERALD_NODE_PORT": String(basePort), "HERALD_SERVE_ARGS": serveArguments,
            "HERALD_PUBLISHER_KEY": Self.publisherKey, "HERALD_CHAT": "0",
        ]
    }

    /// Runs `cluster/up N`, retrying on other ports if the chosen ones were taken meanwhile, and
    /// waits until every node sees all the others.
    static func start(nodes count: Int = 3, serveArguments: String = "") async throws -> LocalCluster {
        let reaper = ChildReaper.shared  // before anything is orphaned
        _ = reaper.isSubreaper
        let herald = try HeraldProcess.executableURL
        var failure = ""
        for _ in 0..<3 {
            let base = try freeBase(nodes: count + spareNodes)
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("herald-cluster-\(UUID().uuidString.prefix(8))")
            let cluster = LocalCluster(
                directory: directory, basePort: base, serveArguments: serveArguments, herald: herald)
            let result = try await ShellCommand.run(
                upScript, [String(count)], environment: cluster.environment, timeout: .seconds(60))
            cluster.adoptRecordedProcesses()
            if result.status == 0 {
                do {
                    try await cluster.waitForMembership(count: count)
                    return cluster
                } catch {
                    failure = "\(error)\n\(cluster.logs())"
                }
            } else {
                failure = "cluster/up: \(result.output)\n\(cluster.logs())"
            }
            await cluster.stop()
            guard failure.contains("in use") || failure.contains("did not come up") else { break }
        }
        throw HarnessError("the cluster did not start: \(failure)")
    }

    /// A port block whose node, admin, nginx and Redis ports are all free now.
    private static func freeBase(nodes: Int) throws -> UInt16 {
        for _ in 0..<200 {
            let base = UInt16.random(in: 20_000...29_000)
            let ports = (0..<nodes).flatMap { [base + UInt16($0), base + 100 + UInt16($0)] } + [base + 50, base + 51]
            if ports.allSatisfy(FreePort.isFree) { return base }
        }
        throw HarnessError("no free port block found")
    }

    /// `name pid` lines of the pids file.
    func recordedProcesses() -> [(name: String, pid: Int32)] {
        let text = (try? String(contentsOf: pidsFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let pid = Int32(parts[1]) else { return nil }
            return (String(parts[0]), pid)
        }
    }

    private func recordedPIDs() -> [Int32] {
        Array(Set(recordedProcesses().map(\.pid) + lock.withLock { started.map(\.pid) + [nginx] }).subtracting([0]))
    }

    /// Reads the pids file: nodes, nginx; every process watched for its exit.
    func adoptRecordedProcesses() {
        for (name, pid) in recordedProcesses() {
            ChildReaper.shared.watch(pid)
            lock.withLock {
                if name == "nginx" { nginx = pid }
                if name.hasPrefix("node"), let index = Int(name.dropFirst(4)),
                    !started.contains(where: { $0.id == name })
                {
                    started.append(Node(id: name, port: basePort + UInt16(index - 1), pid: pid))
                }
            }
        }
    }

    /// Stops everything: `cluster/down`, then SIGKILL by pid for anything still running.
    /// Idempotent; never throws.
    func stop() async {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        let down = try? await ShellCommand.run(
            Self.downScript, [], environment: environment, timeout: .seconds(40))
        var leftovers: [Int32] = []
        for pid in recordedPIDs() where ChildReaper.shared.isRunning(pid) {
            kill(pid, SIGKILL)
            leftovers.append(pid)
        }
        for pid in leftovers { _ = await ChildReaper.shared.waitForExit(pid, timeout: .seconds(2)) }
        if down?.status != 0 || !leftovers.isEmpty {
            print("cluster/down: \(down?.output ?? "did not run"); killed \(leftovers)")
        }
        if ProcessInfo.processInfo.environment["HERALD_CLUSTER_KEEP"] == nil {
            try? FileManager.default.removeItem(at: directory)
        } else {
            print("cluster state kept in \(directory.path)")
        }
    }

    /// The tail of every log in the cluster folder, for failure messages.
    func logs(lines: Int = 15) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".log") }.sorted().map { name in
            let text = (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
            let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines)
            return "--- \(name)\n" + tail.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    func log(of node: Node) -> String {
        (try? String(contentsOf: directory.appendingPathComponent("\(node.id).log"), encoding: .utf8)) ?? ""
    }
}

extension LocalCluster {
    /// Starts a cluster, runs `body`, and stops the cluster whether `body` succeeded or not.
    static func with<T: Sendable>(
        nodes count: Int = 3, serveArguments: String = "", _ body: (LocalCluster) async throws -> T
    ) async throws -> T {
        let started = ContinuousClock.now
        let cluster = try await start(nodes: count, serveArguments: serveArguments)
        let up = ContinuousClock.now
        do {
            let result = try await body(cluster)
            let ran = ContinuousClock.now
            await cluster.stop()
            print(
                "cluster of \(count): up in \((up - started).ms) ms, test \((ran - up).ms) ms, "
                    + "down in \((ContinuousClock.now - ran).ms) ms")
            return result
        } catch {
            print("cluster logs at failure:\n\(cluster.logs())")
            await cluster.stop()
            throw error
        }
    }
}
