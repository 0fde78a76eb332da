import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The site of the cookie check tests (`Tests/apps/session_app.py`), a real HTTP app on a free
/// loopback port: it keeps a session table, answers Herald's `--auth-url` check at `/check`, and
/// counts the checks it was asked (``stats()``). Stopped by pid (SIGKILL) by ``stop()`` or on deinit.
public final class SessionApp: @unchecked Sendable {
    public let port: UInt16
    private let process: Process

    private init(port: UInt16, process: Process) {
        self.port = port
        self.process = process
    }

    deinit { stop() }

    /// The URL Herald's `--auth-url` takes.
    public var checkURL: String { "http://127.0.0.1:\(port)/check" }

    /// The interpreter, as a command: the system's `python3` itself when there is one. A version
    /// manager's shim on `PATH` (pyenv's is a chain of shell scripts) can take seconds to start
    /// Python when many tests start processes at once.
    static let python: [String] =
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
        ? ["/usr/bin/python3"] : ["/usr/bin/env", "python3"]

    /// Starts the app and waits until it answers.
    public static func start() async throws -> SessionApp {
        let port = try FreePort.pick()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python.first!)
        process.arguments = Self.python.dropFirst() + [Repository.file("Tests/apps/session_app.py").path, String(port)]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("session-app-\(port).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        // Off the concurrency pool, as the nodes are: forking the test process is slow under load.
        try await Blocking.run { try process.run() }
        let app = SessionApp(port: port, process: process)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw HarnessError("session_app.py exited before it was ready") }
            if let answer = try? await RawHTTPClient.request(port: port, "GET", "/healthz", timeout: .seconds(1)),
                answer.status == 200
            {
                return app
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw HarnessError("session_app.py not ready on port \(port): \(output)")
    }

    /// Logs `user` in: the value of its session cookie (`sid`).
    public func login(_ user: String) async throws -> String {
        let answer = try await RawHTTPClient.request(port: port, "GET", "/login?user=\(Query.encode(user))")
        guard answer.status == 200 else { throw HarnessError("login failed: \(answer.status)") }
        return answer.text
    }

    /// Ends the session `sid`.
    public func logout(_ sid: String) async throws {
        _ = try await RawHTTPClient.request(port: port, "GET", "/logout", headers: [("Cookie", "sid=\(sid)")])
    }

    /// How `/check` answers from now on: after `delay` seconds, with `status` (200: allowed), and
    /// the `X-Herald-Channels` / `X-Herald-Expires` headers when given.
    public func behave(
        delay: Double = 0, status: Int = 200, channels: String? = nil, expires: Int64? = nil
    ) async throws {
        var query = "delay=\(delay)&status=\(status)"
        if let channels { query += "&channels=\(Query.encode(channels))" }
        if let expires { query += "&expires=\(expires)" }
        let answer = try await RawHTTPClient.request(port: port, "POST", "/behave?\(query)", body: [])
        guard answer.status == 204 else { throw HarnessError("behave failed: \(answer.status)") }
    }

    /// What the app saw: `checks` (asked so far), `max_in_flight_per_session`, `max_in_flight`,
    /// `last` (the last check's headers, lowercased names).
    public func stats() async throws -> [String: Any] {
        try JSON.object(try await RawHTTPClient.request(port: port, "GET", "/stats").body)
    }

    /// Checks asked so far.
    public func checks() async throws -> Int { JSON.int(try await stats()["checks"]) ?? -1 }

    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
