import Foundation
import HeraldTesting

#if canImport(Glibc)
import Glibc
#endif

/// What the nodes say about the cluster (`/cluster`), and what `herald ring` says about owners.
extension LocalCluster {
    /// A node's `/cluster` answer.
    func clusterInfo(_ node: Node) async throws -> [String: Any] {
        let response = try await RawHTTPClient.request(port: node.adminPort, "GET", "/cluster")
        guard response.status == 200 else { throw HarnessError("/cluster on \(node) answered \(response)") }
        return try JSON.object(response.body)
    }

    func misroutedSubscribers(_ node: Node) async throws -> Int {
        let info = try await clusterInfo(node)
        guard let count = JSON.int(info["misrouted_subscribers"]) else {
            throw HarnessError("/cluster of \(node) has no misrouted_subscribers: \(info)")
        }
        return count
    }

    /// The members a node lists: advertised address → node id.
    func members(seenBy node: Node) async throws -> [String: String] {
        let info = try await clusterInfo(node)
        let list = info["nodes"] as? [[String: Any]] ?? []
        var members: [String: String] = [:]
        for member in list {
            if let advertise = member["advertise"] as? String, let id = member["id"] as? String {
                members[advertise] = id
            }
        }
        return members
    }

    /// Waits until every running node lists exactly the running nodes (membership is refreshed
    /// every second).
    func waitForMembership(count: Int, timeout: Duration = .seconds(15)) async throws {
        let deadline = ContinuousClock.now + timeout
        var last: [String: [String: String]] = [:]
        while ContinuousClock.now < deadline {
            let running = nodes.filter { ChildReaper.shared.isRunning($0.pid) }
            let expected = Dictionary(uniqueKeysWithValues: running.map { ($0.advertise, $0.id) })
            var agreed = running.count == count
            for node in running {
                let seen = (try? await members(seenBy: node)) ?? [:]
                last[node.id] = seen
                if seen != expected { agreed = false }
            }
            if agreed { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError("membership did not settle on \(count) nodes: \(last)")
    }

    /// `herald ring --nodes <advertised addresses> -- CHANNEL…`: each channel's owner, as a node id.
    /// The address → id map comes from `/cluster` of the first node given.
    func ringOwners(of channels: [String], among members: [Node]) async throws -> [String: String] {
        guard let asker = members.first else { throw HarnessError("no node to ask") }
        let ids = try await self.members(seenBy: asker)
        for member in members where ids[member.advertise] == nil {
            throw HarnessError("\(asker) does not list \(member.advertise) in /cluster: \(ids)")
        }
        return try await ringOwners(of: channels, addresses: members.map(\.advertise)).mapValues { ids[$0]! }
    }

    /// `herald ring --nodes <addresses> -- CHANNEL…`: each channel's owner, as an address.
    func ringOwners(of channels: [String], addresses: [String]) async throws -> [String: String] {
        let unique = Array(Set(channels))
        var owners: [String: String] = [:]
        for batch in stride(from: 0, to: unique.count, by: 1000).map({ unique[$0..<min($0 + 1000, unique.count)] }) {
            let result = try await ShellCommand.run(
                herald, ["ring", "--nodes", addresses.joined(separator: ","), "--"] + batch)
            guard result.status == 0 else { throw HarnessError("herald ring failed: \(result.output)") }
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            guard lines.count == batch.count else {
                throw HarnessError("herald ring printed \(lines.count) lines for \(batch.count) channels")
            }
            for (channel, line) in zip(batch, lines) {
                // `CHANNEL OWNER`: the channel may contain spaces, the owner does not.
                guard let space = line.lastIndex(of: " "), line[..<space] == channel,
                    addresses.contains(String(line[line.index(after: space)...]))
                else {
                    throw HarnessError("herald ring line \(line.debugDescription) for \(channel.debugDescription)")
                }
                owners[channel] = String(line[line.index(after: space)...])
            }
        }
        return owners
    }

    /// The running nodes.
    var runningNodes: [Node] { nodes.filter { ChildReaper.shared.isRunning($0.pid) } }
}

/// Changing the cluster while it runs: another node, nginx reconfigured.
extension LocalCluster {
    /// Starts node N+1 exactly as `cluster/up` starts its nodes (same flags, in the background,
    /// recorded in the pids file so `cluster/down` stops it) and waits until it is healthy.
    func addNode() async throws -> Node {
        let index = nodes.count + 1
        guard index <= nodes.count + Self.spareNodes else { throw HarnessError("no spare port for another node") }
        let id = "node\(index)"
        let port = basePort + UInt16(index - 1)
        let logPath = directory.appendingPathComponent("\(id).log").path
        var serve = [
            herald.path, "serve", "--host", "127.0.0.1", "--port", String(port), "--admin-port", String(port + 100),
            "--redis", "redis://127.0.0.1:\(redisPort)", "--public-publisher", "--publisher-key", Self.publisherKey,
            "--node-id", id, "--advertise", "127.0.0.1:\(port)",
        ]
        serve += serveArguments.split(separator: " ").map(String.init)
        let script = "\"$@\" >\"$HERALD_TEST_NODE_LOG\" 2>&1 </dev/null & echo $!"
        let result = try await ShellCommand.run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", script, "add-node"] + serve,
            environment: ["HERALD_TEST_NODE_LOG": logPath])
        guard result.status == 0, let pid = Int32(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw HarnessError("starting \(id) failed: \(result.output)") }
        let handle = try FileHandle(forWritingTo: pidsFile)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(id) \(pid)\n".utf8))
        try handle.close()
        adoptRecordedProcesses()
        let node = try self.node(id)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            guard ChildReaper.shared.isRunning(pid) else { throw HarnessError("\(id) exited:\n\(self.log(of: node))") }
            let health = try? await RawHTTPClient.request(port: node.adminPort, "GET", "/readyz", timeout: .seconds(1))
            if health?.status == 200 { return node }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("\(id) did not become healthy:\n\(log(of: node))")
    }

    /// Rewrites nginx.conf with `herald nginx-conf` for `members`, as `cluster/up` writes it, and
    /// reloads nginx (SIGHUP: new workers take new connections, old ones finish theirs).
    func reconfigureNginx(for members: [Node]) async throws {
        let result = try await ShellCommand.run(
            herald,
            [
                "nginx-conf", "--nodes", members.map(\.advertise).joined(separator: ","), "--listen",
                "127.0.0.1:\(frontPort)", "--runtime-directory", directory.path,
            ])
        guard result.status == 0 else { throw HarnessError("herald nginx-conf failed: \(result.output)") }
        try result.stdout.write(to: directory.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        guard kill(nginxPID, SIGHUP) == 0 else { throw HarnessError("SIGHUP to nginx failed: errno \(errno)") }
    }
}
