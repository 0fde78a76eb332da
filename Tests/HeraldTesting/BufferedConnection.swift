/// A socket with a read buffer: lines, exact byte counts and read-to-close, each bounded by a
/// deadline. Bytes are consumed only once a read is complete, so a timed-out read loses nothing.
public final class BufferedConnection: @unchecked Sendable {
    /// The socket read from (and written to directly).
    public let socket: TCPSocket
    private var buffer: [UInt8] = []
    private var start = 0
    /// The peer closed (or reset) the connection.
    public private(set) var isClosed = false

    /// Wraps a connected socket.
    public init(socket: TCPSocket) {
        self.socket = socket
    }

    /// The bytes read but not consumed yet.
    public var buffered: ArraySlice<UInt8> { buffer[start...] }

    /// Reads more bytes into the buffer. False on timeout or when the peer has closed.
    @discardableResult
    public func fill(deadline: Deadline) -> Bool {
        guard !isClosed else { return false }
        switch socket.receive(deadline: deadline) {
        case .bytes(let bytes):
            if start > 65536 && start * 2 > buffer.count {
                buffer.removeSubrange(..<start)
                start = 0
            }
            buffer += bytes
            return true
        case .timeout:
            return false
        case .closed:
            isClosed = true
            return false
        }
    }

    /// Removes and returns the next `count` buffered bytes.
    public func take(_ count: Int) -> [UInt8] {
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        return bytes
    }

    /// Removes and returns everything buffered.
    public func takeAll() -> [UInt8] {
        take(buffer.count - start)
    }

    /// The next line without its CRLF (or LF). Throws on timeout or close.
    public func readLine(deadline: Deadline, what: String = "line") throws -> String {
        var searched = 0  // bytes after `start` already searched (fill may move `start`)
        while true {
            if let lf = buffer[(start + searched)...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[start..<lf])
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                start = lf + 1
                return String(decoding: line, as: UTF8.self)
            }
            searched = buffer.count - start
            guard fill(deadline: deadline) else {
                throw HarnessError(
                    isClosed ? "connection closed while reading a \(what)" : "timed out reading a \(what)")
            }
        }
    }

    /// Exactly `count` bytes. Throws on timeout or close.
    public func readExact(_ count: Int, deadline: Deadline, what: String = "body") throws -> [UInt8] {
        while buffer.count - start < count {
            guard fill(deadline: deadline) else {
                throw HarnessError(
                    "\(isClosed ? "connection closed" : "timed out") after \(buffer.count - start) of \(count) bytes of \(what)"
                )
            }
        }
        return take(count)
    }

    /// Whether `count` bytes are buffered, reading until they are or the deadline passes.
    public func ensure(_ count: Int, deadline: Deadline) -> Bool {
        while buffer.count - start < count {
            guard fill(deadline: deadline) else { return false }
        }
        return true
    }

    /// Everything until the peer closes. Throws on timeout.
    public func readToClose(deadline: Deadline) throws -> [UInt8] {
        while !isClosed {
            if !fill(deadline: deadline) && !isClosed {
                throw HarnessError("timed out waiting for the connection to close")
            }
        }
        return takeAll()
    }

    /// Waits until the peer closes, discarding what arrives; false on timeout.
    public func waitForClose(deadline: Deadline) -> Bool {
        while !isClosed {
            if !fill(deadline: deadline) && !isClosed { return false }
            _ = takeAll()
        }
        return true
    }
}
