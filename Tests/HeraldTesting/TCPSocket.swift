import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking IPv4 TCP socket with deadlines on every read (`poll`) and a receive timeout
/// (`SO_RCVTIMEO`) as a second guard, so no test can hang on the network.
public final class TCPSocket: @unchecked Sendable {
    /// The file descriptor, -1 once closed.
    public private(set) var fd: Int32
    /// Set when the peer reset the connection instead of closing it cleanly.
    public private(set) var wasReset = false

    /// Connects to `host:port`. A small `receiveBuffer` (set before connecting) keeps the kernel
    /// from buffering much for a client that does not read; `source` is the local address to
    /// connect from (any of 127.0.0.0/8 on loopback), so one test can be several clients.
    public init(port: UInt16, host: String = "127.0.0.1", receiveBuffer: Int? = nil, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        if let receiveBuffer { setOption(SO_RCVBUF, Int32(receiveBuffer)) }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                let code = errno
                Glibc.close(fd)
                fd = -1
                throw HarnessError("bind to \(source) failed: errno \(code)")
            }
        }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            fd = -1
            throw HarnessError("connect to \(host):\(port) failed: errno \(code)")
        }
    }

    deinit { close() }

    private func setOption(_ name: Int32, _ value: Int32) {
        var value = value
        setsockopt(fd, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Writes all of `bytes`; throws if the peer is gone.
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                throw HarnessError("send failed: errno \(errno)")
            }
            offset += sent
        }
    }

    /// Writes `text` as UTF-8.
    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// What a ``receive(max:deadline:)`` got.
    public enum ReadResult {
        case bytes([UInt8])
        case timeout
        case closed
    }

    /// Reads what is available (up to `max` bytes), waiting until `deadline`.
    public func receive(max: Int = 65536, deadline: Deadline) -> ReadResult {
        guard fd >= 0 else { return .closed }
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, deadline.remainingMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                return .closed
            }
            if ready == 0 { return .timeout }
            var buffer = [UInt8](repeating: 0, count: max)
            let count = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, max, 0) }
            if count > 0 { return .bytes(Array(buffer[..<count])) }
            if count == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: if deadline.hasPassed { return .timeout } else { continue }
            case ECONNRESET:
                wasReset = true
                return .closed
            default: return .closed
            }
        }
    }

    /// The local port of the connection (what the server sees as the client's port).
    public var localPort: UInt16? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return result == 0 ? UInt16(bigEndian: address.sin_port) : nil
    }

    /// Half-closes the sending side.
    public func shutdownWrite() {
        if fd >= 0 { Glibc.shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Closes the socket (a normal close); idempotent.
    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Closes with a reset (SO_LINGER 0), like a client that vanishes.
    public func abort() {
        guard fd >= 0 else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }
}
