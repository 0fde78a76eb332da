import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Loopback ports nobody listens on: bind to 127.0.0.1:0, read the port, close.
public enum FreePort {
    /// Every port handed out in this process. The kernel may give a just-closed ephemeral port to
    /// the next bind; two tests running side by side then start servers on one port, and the
    /// second one's health check is answered by the first (a refused connection later, once the
    /// first stops). A port is never handed out twice.
    private static let handedOut = Mutex<Set<UInt16>>([])

    /// A port the kernel picked for an ephemeral bind on 127.0.0.1, free now and never handed out
    /// before in this process (not reserved: start the server on it soon, and retry on another if
    /// it was taken meanwhile).
    public static func pick() throws -> UInt16 {
        for _ in 0..<100 {
            let port = try pickOnce()
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw HarnessError("no fresh loopback port after 100 tries")
    }

    /// A port `p` with `p + 10000` free too (a Redis Cluster node's bus port), both below the
    /// kernel's ephemeral range so neither is handed to an outgoing connection meanwhile; both are
    /// then never handed out again.
    public static func pickWithBusPort() throws -> UInt16 {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let port = UInt16.random(in: 20_000..<22_768, using: &random)
            guard isFree(port), isFree(port + 10_000) else { continue }
            let fresh = handedOut.withLock { taken in
                guard !taken.contains(port), !taken.contains(port + 10_000) else { return false }
                taken.insert(port)
                taken.insert(port + 10_000)
                return true
            }
            if fresh { return port }
        }
        throw HarnessError("no free port pair for a Redis Cluster node after 200 tries")
    }

    private static func pickOnce() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw HarnessError("could not bind a free port: errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// A listening socket holding a port, for the port-in-use test. Close it with `close(fd)`.
    public static func occupy() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard ok else { throw HarnessError("could not occupy a port") }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// Whether `port` on 127.0.0.1 can be bound now (for a block of fixed ports).
    public static func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        return address
    }
}
