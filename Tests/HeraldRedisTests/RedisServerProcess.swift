import Foundation
import HeraldRedis
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `redis-server` of the test's own, on a free loopback port, with persistence off.
///
/// Started with ``start(port:arguments:)``, stopped by its pid with ``stop()``; ``withRedisServer(_:_:)``
/// makes sure a test stops it whatever happens.
final class RedisServerProcess {
    /// The port it listens on (kept across ``restart()``).
    let port: Int
    /// Extra `redis-server` arguments, such as `--requirepass`.
    let arguments: [String]
    private var process: Process?

    private init(port: Int, arguments: [String]) {
        self.port = port
        self.arguments = arguments
    }

    /// A URL for this server (add credentials and database as needed).
    func url(database: Int = 0, user: String? = nil, password: String? = nil) -> RedisURL {
        RedisURL(host: "127.0.0.1", port: self.port, database: database, user: user, password: password)
    }

    /// The pid of the running server.
    var pid: pid_t? {
        self.process.map { $0.processIdentifier }
    }

    /// Starts a server and waits (at most 10 s) until it answers.
    static func start(port: Int? = nil, arguments: [String] = []) async throws -> RedisServerProcess {
        var attempt = 1
        while true {
            let server = RedisServerProcess(port: try port ?? Self.freePort(), arguments: arguments)
            do {
                try await server.launch()
                return server
            } catch {
                // Another process may have taken the free port first; try another one.
                guard port == nil, attempt < 3 else { throw error }
                attempt += 1
            }
        }
    }

    /// Stops the server with SIGKILL, by its pid, and waits (at most 10 s) for it to exit.
    ///
    /// SIGKILL because a child started from a test-runner thread inherits that thread's signal mask, in
    /// which SIGTERM is blocked; with persistence off, nothing is lost.
    func stop() async {
        guard let process = self.process else { return }
        self.process = nil
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        _ = await Self.waitForExit(process, seconds: 10)
    }

    /// Stops the server, then starts a new one on the same port with the same arguments.
    func restart() async throws {
        await self.stop()
        try await self.launch()
    }

    /// Pauses the server's process (SIGSTOP): connections stay open, nothing answers.
    func pause() {
        if let pid = self.pid {
            kill(pid, SIGSTOP)
        }
    }

    /// Resumes a paused server (SIGCONT).
    func resume() {
        if let pid = self.pid {
            kill(pid, SIGCONT)
        }
    }

    private func launch() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.redisServerPath())
        process.arguments =
            [
                "--port", "\(self.port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", NSTemporaryDirectory(),
            ] + self.arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                self.process = nil
                throw ServerError("redis-server exited at start (port \(self.port) in use?)")
            }
            if await Self.answers(port: self.port) {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await self.stop()
        throw ServerError("redis-server on port \(self.port) did not answer within 10 s")
    }

    /// Whether something on the port answers `PING` (or asks for a password, which also means it is up).
    private static func answers(port: Int) async -> Bool {
        let url = RedisURL(host: "127.0.0.1", port: port)
        do {
            let connection = try await RedisConnection.connect(
                to: url,
                on: MultiThreadedEventLoopGroup.singleton,
                connectTimeout: .milliseconds(500),
                commandTimeout: .seconds(2),
                logger: Logger(label: "redis-server-wait", factory: { _ in SwiftLogNoOpLogHandler() })
            ).get()
            try? await connection.close().get()
            return true
        } catch let error as RedisError {
            return error
                == .authenticationFailed(
                    "redis requires a password; put it in the URL: redis://:password@host"
                )
        } catch {
            return false
        }
    }

    private static func waitForExit(_ process: Process, seconds: Int) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                return false
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    private static func redisServerPath() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw ServerError("redis-server not found on PATH (apt-get install redis-server)")
    }

    /// A loopback port nobody listens on now (the kernel's pick for an ephemeral bind).
    static func freePort() throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ServerError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw ServerError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(fd, $0, &length)
            }
        }
        guard named == 0 else { throw ServerError("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A failure of the test harness itself.
struct ServerError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Runs `body` with a fresh `redis-server`, and stops it afterwards, also when `body` throws.
func withRedisServer<Result>(
    arguments: [String] = [],
    _ body: (RedisServerProcess) async throws -> Result
) async throws -> Result {
    let server = try await RedisServerProcess.start(arguments: arguments)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}
