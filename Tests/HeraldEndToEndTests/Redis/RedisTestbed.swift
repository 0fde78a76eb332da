import Foundation
import HeraldTesting

/// One real Redis and Herald nodes sharing it (`--redis`, `--node-id A`, `B`, …), for one test.
struct RedisTestbed: Sendable {
    let redis: RedisServerProcess
    let nodes: [HeraldProcess]

    var a: HeraldProcess { nodes[0] }
    var b: HeraldProcess { nodes[1] }

    /// Starts Redis, then `count` nodes with `arguments`; stops what started if anything fails.
    static func start(
        nodes count: Int = 2, persistent: Bool = false, arguments: [String] = []
    ) async throws -> RedisTestbed {
        let redis = try await RedisServerProcess.start(persistent: persistent)
        var nodes: [HeraldProcess] = []
        do {
            for index in 0..<count {
                let name = String(UnicodeScalar(UInt8(ascii: "A") + UInt8(index)))
                nodes.append(try await node(name, redis: redis, arguments: arguments))
            }
        } catch {
            for node in nodes { node.stop() }
            redis.stop()
            throw error
        }
        return RedisTestbed(redis: redis, nodes: nodes)
    }

    /// A node named `name` on `redis`.
    static func node(_ name: String, redis: RedisServerProcess, arguments: [String]) async throws -> HeraldProcess {
        try await HeraldProcess.start(["--redis", redis.url, "--node-id", name] + arguments)
    }

    /// Stops the nodes, then Redis, by pid.
    func stop() {
        for node in nodes { node.stop() }
        redis.stop()
    }

    /// For failure messages: what the nodes and Redis logged.
    var logs: String {
        nodes.map(\.output).joined(separator: "\n") + "\n--- redis\n" + redis.log
    }
}

extension HeraldProcess {
    /// `GET /pub?id=<channel>` on the admin listener: the cluster-wide channel info, nil if 404.
    func channelInfo(_ channel: String) async throws -> [String: Any]? {
        let response = try await admin("GET", "/pub?id=\(Query.encode(channel))")
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw HarnessError("channel info of \(channel): \(response)") }
        return try JSON.object(response.body)
    }

    /// The channel info's body as text, for failure messages.
    func channelInfoText(_ channel: String) async throws -> String {
        try await admin("GET", "/pub?id=\(Query.encode(channel))").text
    }

    /// Polls the channel info until its `subscribers` is `count` (counts travel through Redis
    /// with each node's heartbeat, once a second); false after `timeout`.
    func waitForClusterSubscribers(
        _ channel: String, count: Int, timeout: Duration = .seconds(4)
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let info = try? await channelInfo(channel), JSON.int(info["subscribers"]) == count { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// The channel's last id (`published_messages`), 0 when it does not exist.
    func lastID(_ channel: String) async throws -> Int {
        try await channelInfo(channel).flatMap { JSON.int($0["published_messages"]) } ?? 0
    }

    /// Polls `GET /readyz` until it answers `status`; false after `timeout`.
    func waitForReadiness(_ status: Int, timeout: Duration = .seconds(10)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let response = try? await admin("GET", "/readyz"), response.status == status { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// What a finished child command printed.
struct CommandOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs short-lived commands (`herald publish`, `redis-cli`, `sh -c`) with a deadline; a command
/// still running at its deadline is killed by pid.
enum ChildCommand {
    static func run(
        _ executable: String, _ arguments: [String], timeout: Duration = .seconds(10)
    ) async throws -> CommandOutput {
        try await Blocking.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HERALD_") }
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("herald-cmd-\(UUID().uuidString)")
            let outURL = base.appendingPathExtension("out")
            let errURL = base.appendingPathExtension("err")
            _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
            _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
            defer {
                try? FileManager.default.removeItem(at: outURL)
                try? FileManager.default.removeItem(at: errURL)
            }
            process.standardOutput = try FileHandle(forWritingTo: outURL)
            process.standardError = try FileHandle(forWritingTo: errURL)
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let deadline = ContinuousClock.now + timeout
            while process.isRunning && ContinuousClock.now < deadline { usleep(2_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw HarnessError("\(executable) \(arguments) still running after \(timeout); killed")
            }
            return CommandOutput(
                status: process.terminationStatus,
                stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
        }
    }

    /// `herald <arguments>` with the binary under test.
    static func herald(_ arguments: [String], timeout: Duration = .seconds(10)) async throws -> CommandOutput {
        try await run(try HeraldProcess.executableURL.path, arguments, timeout: timeout)
    }

    /// `herald publish --redis <url> <channel> <text>`; the id it printed (`<channel> id=N time=T tag=G`).
    static func heraldPublish(redis: String, _ channel: String, _ text: String) async throws -> Int {
        let output = try await herald(["publish", "--redis", redis, channel, text])
        guard output.status == 0 else { throw HarnessError("herald publish exited \(output.status): \(output.stderr)") }
        let fields = output.stdout.split(whereSeparator: \.isWhitespace)
        guard fields.first.map(String.init) == channel,
            let id = fields.first(where: { $0.hasPrefix("id=") }).flatMap({ Int($0.dropFirst(3)) })
        else { throw HarnessError("unexpected herald publish output \(output.stdout.debugDescription)") }
        return id
    }
}
