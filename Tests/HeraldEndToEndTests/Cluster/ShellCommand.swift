import Foundation
import HeraldTesting

#if canImport(Glibc)
import Glibc
#endif

/// A short-lived child command (`cluster/up`, `herald ring`, `herald nginx-conf`): output to
/// files, a deadline after which it is killed.
///
/// Spawned with `posix_spawn` and awaited with `waitpid`, not with Foundation's `Process`:
/// `cluster/up` leaves background processes behind, and they would inherit the descriptor
/// `Process` watches for its child's exit, so the script would never be seen to end. Every
/// descriptor above stderr is closed in the child, so no node holds a test's socket open, and
/// signals start unblocked and with their default actions.
enum ShellCommand {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String

        var output: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
    }

    static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
        timeout: Duration = .seconds(30)
    ) async throws -> Result {
        try await Blocking.run { try runBlocking(executable, arguments, environment: environment, timeout: timeout) }
    }

    static func runBlocking(
        _ executable: URL, _ arguments: [String], environment: [String: String], timeout: Duration
    ) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
        let name = "herald-cluster-cmd-\(UUID().uuidString)"
        let outPath = directory.appendingPathComponent(name + ".out").path
        let errPath = directory.appendingPathComponent(name + ".err").path
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HERALD_") }
        for (key, value) in environment { env[key] = value }
        let pid = try spawn(
            executable.path, [executable.path] + arguments, env.map { "\($0.key)=\($0.value)" },
            stdout: outPath, stderr: errPath)
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0 && errno != EINTR { throw HarnessError("waitpid \(pid): errno \(errno)") }
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                throw HarnessError(
                    "\(executable.lastPathComponent) \(arguments.prefix(4)) did not finish in \(timeout)")
            }
            usleep(5_000)
        }
        let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + status & 0x7F
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Result(status: code, stdout: stdout, stderr: stderr)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift does not import.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: CloseFrom.self)
    }

    private static func spawn(
        _ path: String, _ arguments: [String], _ environment: [String], stdout: String, stderr: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = closeFrom?(&actions, 3)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        // A clean signal state: a test thread may block or ignore signals, and what is blocked
        // or ignored stays so across exec (redis-server would never see cluster/down's SIGTERM).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else { throw HarnessError("posix_spawn \(path): error \(result)") }
        return pid
    }
}
