import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` child process on a free loopback port, for one test.
///
/// Started with ``start(port:persistent:arguments:)``, which waits until Redis answers `PING`;
/// stopped by pid (SIGTERM, then SIGKILL after 5 s) by ``stop()`` or on deinit. ``terminate()``
/// and ``restart()`` stop and start it again on the same port and directory, so with `persistent`
/// (`--appendonly yes --appendfsync always`) its data survives. ``pause()`` and ``resume()``
/// freeze and thaw it. Thread-safe.
public final class RedisServerProcess: @unchecked Sendable {
    /// The port it listens on (kept across ``restart()``).
    public let port: UInt16
    /// Whether it writes an append-only file (fsync on every write) in ``directory``.
    public let persistent: Bool
    /// Extra `redis-server` arguments, such as `--requirepass`.
    public let arguments: [String]
    /// Its working directory (`--dir`): the append-only file and `redis.log`; removed by ``stop()``.
    public let directory: URL
    private let lock = NSLock()
    private var process: Process
    private var stopped = false

    private init(port: UInt16, persistent: Bool, arguments: [String], directory: URL, process: Process) {
        self.port = port
        self.persistent = persistent
        self.arguments = arguments
        self.directory = directory
        self.process = process
    }

    deinit { stop() }

    /// The `redis-server` executable: `HERALD_E2E_REDIS_SERVER`, else the first one on `PATH`.
    public static var executablePath: String? {
        if let override = ProcessInfo.processInfo.environment["HERALD_E2E_REDIS_SERVER"], !override.isEmpty {
            return override
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether the Redis tests can run here.
    public static var isAvailable: Bool { executablePath != nil }

    /// `redis://127.0.0.1:<port>`, as Herald's `--redis` takes it.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// The pid of the current process (a new one after ``restart()``).
    public var pid: Int32 { lock.withLock { process.processIdentifier } }

    /// Whether the current process is running.
    public var isRunning: Bool { lock.withLock { process.isRunning } }

    /// Starts Redis and waits for `PING`. Without a `port`, on a free one, retrying on another
    /// port if it was taken meanwhile.
    ///
    /// - Parameters:
    ///   - port: the port to listen on; nil for a free one.
    ///   - persistent: write an append-only file, so data survives ``restart()``.
    ///   - arguments: extra `redis-server` arguments, such as `["--requirepass", "secret"]`.
    public static func start(
        port: UInt16? = nil, persistent: Bool = false, arguments: [String] = []
    ) async throws -> RedisServerProcess {
        var lastError: (any Error)?
        // A cluster-enabled Redis also listens on its port + 10000, and refuses a port above 55535.
        let clustered = arguments.contains("--cluster-enabled")
        for _ in 0..<3 {
            let chosen = try port ?? (clustered ? FreePort.pickWithBusPort() : FreePort.pick())
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("herald-e2e-redis-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let process = try await launch(
                port: chosen, persistent: persistent, arguments: arguments, directory: directory)
            let server = RedisServerProcess(
                port: chosen, persistent: persistent, arguments: arguments, directory: directory, process: process)
            do {
                try await server.waitUntilReady()
                return server
            } catch {
                lastError = error
                let log = server.log
                server.stop()
                if port != nil || !log.contains("Address already in use") { throw error }
            }
        }
        throw lastError ?? HarnessError("redis-server did not start")
    }

    private static func launch(
        port: UInt16, persistent: Bool, arguments extra: [String], directory: URL
    ) async throws -> Process {
        guard let executable = executablePath else {
            throw HarnessError("redis-server not found on PATH (apt-get install redis-server)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        var arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory.path]
        arguments += persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        process.arguments = arguments + extra
        let logURL = directory.appendingPathComponent("redis.log")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: logURL)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try await runWithTerminationSignals(process)
        return process
    }

    /// Starts `process` from a thread of its own that lets SIGTERM and SIGINT through, so the
    /// launch blocks no thread of Swift's concurrency pool either. A child inherits the
    /// blocked-signal mask of the thread that spawns it, and the threads of that pool block nearly
    /// every signal: spawned from one of them, Redis (which does not unblock them) would never see
    /// SIGTERM.
    private static func runWithTerminationSignals(_ process: Process) async throws {
        try await Blocking.run {
            var unblocked = sigset_t()
            sigemptyset(&unblocked)
            sigaddset(&unblocked, SIGTERM)
            sigaddset(&unblocked, SIGINT)
            pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
            try process.run()
        }
    }

    /// What Redis logged, for failure messages.
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
    }

    /// Polls `PING` every 20 ms until Redis answers `PONG` (or `NOAUTH`: it is up and wants a
    /// password); gives up after `timeout`.
    public func waitUntilReady(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        var attempts = 0
        var lastAnswer = "none"
        while ContinuousClock.now < deadline {
            guard isRunning else { throw HarnessError("redis-server exited before it was ready:\n\(log)") }
            let port = self.port
            attempts += 1
            let answer = try await Blocking.run { () -> Result<RESPReply, HarnessError> in
                do {
                    let client = try RedisTestClient(port: port, timeout: .seconds(1))
                    defer { client.close() }
                    return .success(try client.command(["PING"]))
                } catch {
                    return .failure(HarnessError("\(error)"))
                }
            }
            switch answer {
            case .success(.simple("PONG")): return
            case .success(.error(let message)) where message.hasPrefix("NOAUTH"): return
            case .success(let reply): lastAnswer = reply.description
            case .failure(let error): lastAnswer = error.description
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError(
            "redis-server not ready on port \(port) after \(timeout) (\(attempts) PINGs, last: \(lastAnswer)):\n\(log)")
    }

    /// Sends `signal` to the process.
    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Pauses the process (SIGSTOP): connections stay open, nothing answers.
    public func pause() {
        signal(SIGSTOP)
    }

    /// Resumes a paused process (SIGCONT).
    public func resume() {
        signal(SIGCONT)
    }

    /// Stops Redis (SIGTERM, SIGKILL after 5 s) and waits until it has exited; keeps its
    /// directory, for ``restart()``.
    public func terminate() async throws {
        let process = lock.withLock { self.process }
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        let exited = try await Blocking.run { () -> Bool in
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
            if process.isRunning { kill(pid, SIGKILL) }
            let hardDeadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < hardDeadline { usleep(5_000) }
            return !process.isRunning
        }
        guard exited else { throw HarnessError("redis-server (pid \(pid)) did not exit") }
    }

    /// Stops Redis if it runs, then starts it again on the same port, directory and arguments,
    /// and waits for it.
    public func restart() async throws {
        try await terminate()
        let process = try await Self.launch(
            port: port, persistent: persistent, arguments: arguments, directory: directory)
        lock.withLock { self.process = process }
        try await waitUntilReady()
    }

    /// Stops the process without blocking the caller: SIGTERM now, SIGKILL from a background
    /// thread if it is still running after 5 s, then its directory is removed. Idempotent.
    public func stop() {
        let (already, process) = lock.withLock { () -> (Bool, Process) in
            defer { stopped = true }
            return (stopped, self.process)
        }
        guard !already else { return }
        let directory = self.directory
        if process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGTERM)
        }
        let cleanup = Thread {
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: directory)
        }
        cleanup.start()
    }
}

/// Runs `body` with a fresh `redis-server` started with `arguments`, and stops it afterwards, also
/// when `body` throws.
public func withRedisServer<Result>(
    arguments: [String] = [],
    _ body: (RedisServerProcess) async throws -> Result
) async throws -> Result {
    let server = try await RedisServerProcess.start(arguments: arguments)
    defer { server.stop() }
    return try await body(server)
}
