import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The exit statuses of the processes `cluster/up` leaves running.
///
/// `cluster/up` starts Redis, the nodes and nginx in the background and exits, so they are
/// nobody's children. This test process declares itself their reaper (Linux
/// `PR_SET_CHILD_SUBREAPER`): they become its children, a watcher thread collects each one's exit
/// status the moment it exits (a zombie would look alive to `cluster/down`'s `kill -0`), and a
/// test can tell a node that stopped cleanly from one that crashed. Without the prctl (another
/// kernel), statuses are unknown and liveness falls back to `kill(pid, 0)`.
final class ChildReaper: @unchecked Sendable {
    enum Exit: Sendable, Equatable, CustomStringConvertible {
        case status(Int32)
        case signal(Int32)
        /// Gone, but not our child: how it ended is unknown.
        case unknown

        var description: String {
            switch self {
            case .status(let code): "exit \(code)"
            case .signal(let signal): "signal \(signal)"
            case .unknown: "gone (status unknown)"
            }
        }
    }

    static let shared = ChildReaper()

    /// Whether orphaned descendants are reparented to this process.
    let isSubreaper: Bool
    private let lock = NSLock()
    private var watched: Set<Int32> = []
    private var exits: [Int32: Exit] = [:]

    private init() {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        let prSetChildSubreaper: Int32 = 36
        if let symbol = dlsym(nil, "prctl") {
            isSubreaper = unsafeBitCast(symbol, to: Prctl.self)(prSetChildSubreaper, 1, 0, 0, 0) == 0
        } else {
            isSubreaper = false
        }
        let thread = Thread { [self] in
            while true {
                reapWatched()
                usleep(5_000)
            }
        }
        thread.name = "cluster-reaper"
        thread.start()
    }

    /// Collects `pid`'s exit status once it exits.
    func watch(_ pid: Int32) {
        lock.withLock { _ = watched.insert(pid) }
    }

    /// How `pid` ended, or nil while it runs.
    func exit(of pid: Int32) -> Exit? {
        if let exit = lock.withLock({ exits[pid] }) { return exit }
        if !lock.withLock({ watched.contains(pid) }), kill(pid, 0) != 0, errno == ESRCH { return .unknown }
        return nil
    }

    func isRunning(_ pid: Int32) -> Bool { exit(of: pid) == nil }

    /// Waits up to `timeout` for `pid` to exit.
    func waitForExit(_ pid: Int32, timeout: Duration) async -> Exit? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exit = exit(of: pid) { return exit }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return exit(of: pid)
    }

    private func reapWatched() {
        for pid in lock.withLock({ Array(watched) }) {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            let exit: Exit
            if result == pid {
                let signal = status & 0x7F
                exit = signal == 0 ? .status((status >> 8) & 0xFF) : .signal(signal)
            } else if result < 0 && errno == ECHILD {
                // Not (or no longer) our child: only liveness can be known.
                guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
                exit = .unknown
            } else {
                continue
            }
            lock.withLock {
                watched.remove(pid)
                exits[pid] = exit
            }
        }
    }
}
