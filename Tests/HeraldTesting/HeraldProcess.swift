import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `herald serve` child process on free loopback ports, for one test.
///
/// Started with ``start(_:environment:portsAsOptions:)``, which waits for `GET /readyz` on the
/// admin port; stopped by pid (SIGTERM, then SIGKILL after 5 s) by ``stop()`` or on deinit.
public final class HeraldProcess: @unchecked Sendable {
    /// The public (subscriber) listener's port.
    public let port: UInt16
    /// The admin (publisher, stats, health) listener's port.
    public let adminPort: UInt16
    /// The full command line after the executable.
    public let arguments: [String]
    private let process: Process
    private let stdoutURL: URL
    private let stderrURL: URL
    private let lock = NSLock()
    private var stopped = false

    private init(port: UInt16, adminPort: UInt16, arguments: [String], process: Process, stdoutURL: URL, stderrURL: URL)
    {
        self.port = port
        self.adminPort = adminPort
        self.arguments = arguments
        self.process = process
        self.stdoutURL = stdoutURL
        self.stderrURL = stderrURL
    }

    deinit {
        if !stopped { stop() }
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// The `herald` executable: `HERALD_E2E_BINARY` if set (to test another build), else the one
    /// next to the test bundle in the build directory.
    public static var executableURL: URL {
        get throws {
            if let override = ProcessInfo.processInfo.environment["HERALD_E2E_BINARY"], !override.isEmpty {
                return URL(fileURLWithPath: override)
            }
            var candidates: [URL] = []
            if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
            }
            let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            candidates.append(argument0.deletingLastPathComponent())
            candidates.append(argument0.deletingLastPathComponent().deletingLastPathComponent())
            for directory in candidates {
                for sub in ["herald", "../herald", "../../herald", "../../../herald"] {
                    let url = directory.appendingPathComponent(sub).standardizedFileURL
                    var isDirectory: ObjCBool = false
                    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory),
                        !isDirectory.boolValue,
                        FileManager.default.isExecutableFile(atPath: url.path)
                    {
                        return url
                    }
                }
            }
            throw HarnessError("herald executable not found near \(candidates.map(\.path))")
        }
    }

    /// Launches `herald serve --host 127.0.0.1 --port P --admin-port A <arguments>` and waits
    /// until it is healthy. With `portsAsOptions: false` the ports go in `HERALD_PORT` /
    /// `HERALD_ADMIN_PORT` instead; with a `fileLimit` the process may open only that many files
    /// (RLIMIT_NOFILE, set by `prlimit`, which then becomes herald: same pid). Retries on fresh
    /// ports if the chosen ones were taken.
    public static func start(
        _ arguments: [String] = [], environment: [String: String] = [:], portsAsOptions: Bool = true,
        fileLimit: Int? = nil
    ) async throws -> HeraldProcess {
        var lastError: (any Error)?
        for _ in 0..<3 {
            let port = try FreePort.pick()
            var adminPort = try FreePort.pick()
            while adminPort == port { adminPort = try FreePort.pick() }
            // Off the concurrency pool: a fork of the test process is slow under load, and many
            // tests start nodes at once.
            let node = try await Blocking.run { [adminPort] in
                try launch(
                    arguments, environment: environment, port: port, adminPort: adminPort,
                    portsAsOptions: portsAsOptions, fileLimit: fileLimit)
            }
            do {
                try await node.waitUntilHealthy()
                return node
            } catch {
                lastError = error
                let log = node.stderr
                node.expectExit()
                node.stop()
                if !log.contains("address already in use") { throw error }
            }
        }
        throw lastError ?? HarnessError("herald did not start")
    }

    /// Launches the process without waiting for it (lifecycle tests).
    public static func launch(
        _ arguments: [String], environment: [String: String] = [:], port: UInt16, adminPort: UInt16,
        portsAsOptions: Bool = true, fileLimit: Int? = nil
    ) throws -> HeraldProcess {
        let process = Process()
        var full = ["serve", "--host", "127.0.0.1"]
        if let fileLimit {
            process.executableURL = URL(fileURLWithPath: prlimitPath)
            full = ["--nofile=\(fileLimit):\(fileLimit)", try executableURL.path] + full
        } else {
            process.executableURL = try executableURL
        }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HERALD_") }
        if portsAsOptions {
            full += ["--port", String(port), "--admin-port", String(adminPort)]
        } else {
            env["HERALD_PORT"] = String(port)
            env["HERALD_ADMIN_PORT"] = String(adminPort)
        }
        full += arguments
        for (key, value) in environment { env[key] = value }
        process.arguments = full
        process.environment = env
        let directory = FileManager.default.temporaryDirectory
        let name = "herald-e2e-\(UUID().uuidString)"
        let stdoutURL = directory.appendingPathComponent(name + ".out")
        let stderrURL = directory.appendingPathComponent(name + ".err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return HeraldProcess(
            port: port, adminPort: adminPort, arguments: full, process: process, stdoutURL: stdoutURL,
            stderrURL: stderrURL)
    }

    /// `prlimit` (util-linux), which runs a command with other resource limits.
    public static let prlimitPath = "/usr/bin/prlimit"
    public static var canLimitFiles: Bool { FileManager.default.isExecutableFile(atPath: prlimitPath) }

    /// Whether the process holds a descriptor for its TCP connection with the client at local port
    /// `clientPort` (the connection's inode, from `/proc/<pid>/net/tcp`, among its open files).
    public func holdsConnection(clientPort: UInt16) -> Bool {
        // Read to the end: procfs files report a size of 0.
        guard let file = FileHandle(forReadingAtPath: "/proc/\(pid)/net/tcp") else { return false }
        defer { try? file.close() }
        let table = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
        let hex = String(format: "%04X", clientPort)
        let inodes = table.split(separator: "\n").dropFirst().compactMap { line -> String? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // local_address rem_address: the server's end has the client's port as its remote one.
            guard fields.count > 9, fields[2].hasSuffix(":\(hex)") else { return nil }
            return String(fields[9])
        }
        guard !inodes.isEmpty else { return false }
        let directory = "/proc/\(pid)/fd"
        let links = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)")
        }
        return inodes.contains { links.contains("socket:[\($0)]") }
    }

    /// Polls `GET /readyz` on the admin port every 20 ms until it answers 200; gives up after `timeout`.
    /// The default allows for CI's end-to-end group, which starts some sixty nodes at once on two
    /// cores.
    public func waitUntilHealthy(timeout: Duration = .seconds(20)) async throws {
        let adminPort = self.adminPort
        let deadline = ContinuousClock.now + timeout
        var last = "no answer"
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw HarnessError(
                    "herald exited (status \(process.terminationStatus)) before it was healthy:\n\(output)")
            }
            let answer = try await Blocking.run { () -> HTTPResponse? in
                guard let client = try? RawHTTPClient(port: adminPort, timeout: .seconds(1)) else { return nil }
                defer { client.close() }
                return try? client.request("GET", "/readyz")
            }
            if answer?.status == 200 { return }
            if let answer { last = "\(answer.status) \(answer.text)" }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError(
            "herald was not healthy on port \(adminPort) after \(timeout) (last /readyz: \(last)):\n\(output)")
    }

    /// What the process wrote to stdout.
    public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    /// What the process wrote to stderr (its log).
    public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    /// Both, for failure messages.
    public var output: String {
        "args: \(arguments.joined(separator: " "))\n--- stdout\n\(stdout)--- stderr\n\(stderr)"
    }

    /// Whether the process is still running.
    public var isRunning: Bool { process.isRunning }

    /// Waits up to `timeout` for the process to exit; its status, or nil if it is still running.
    public func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    /// Sends SIGTERM and waits (up to `timeout`) for the exit status; nil if it did not exit.
    public func terminate(signal: Int32 = SIGTERM, timeout: Duration = .seconds(15)) async throws -> Int32? {
        expectExit()
        kill(pid, signal)
        return try await Blocking.run { self.waitForExit(timeout: timeout) }
    }

    /// The process is meant to exit (a lifecycle test): do not report its exit as unexpected.
    public func expectExit() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    /// Stops the process without blocking the caller: SIGTERM now, SIGKILL from a background
    /// thread if it is still running after 5 s (then its log is printed: a node that does not stop
    /// on SIGTERM is worth knowing about). Idempotent.
    public func stop() {
        lock.lock()
        let already = stopped
        stopped = true
        lock.unlock()
        if !already, !process.isRunning {
            FileHandle.standardError.write(
                Data("herald exited on its own (status \(process.terminationStatus)):\n\(output)\n".utf8))
        }
        guard process.isRunning else { return removeLogs() }
        kill(pid, SIGTERM)
        // The log is read now and the files unlinked at once, so nothing is left behind even if
        // the test process ends before the watchdog below has run.
        let log = stderr
        removeLogs()
        // Captures values, not self: this may run from deinit.
        let (process, pid, arguments) = (process, pid, arguments)
        let cleanup = Thread {
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning {
                FileHandle.standardError.write(
                    Data(
                        "herald (pid \(pid), \(arguments.joined(separator: " "))) still running 5 s after SIGTERM; killing it\n\(log)\n"
                            .utf8))
                kill(pid, SIGKILL)
            }
        }
        cleanup.start()
    }

    private func removeLogs() {
        try? FileManager.default.removeItem(at: stdoutURL)
        try? FileManager.default.removeItem(at: stderrURL)
    }
}
