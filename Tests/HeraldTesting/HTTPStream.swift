/// A long-lived HTTP response read incrementally (streaming `/sub`, EventSource `/ev`): the head
/// first, then the body chunk by chunk until a condition holds, the stream ends or a deadline passes.
public final class HTTPStream: @unchecked Sendable {
    /// The connection the stream arrives on.
    public let connection: BufferedConnection
    /// The response head.
    public let head: HTTPHead
    /// Whether the body is chunk-encoded.
    public let isChunked: Bool
    /// The decoded body received so far.
    public private(set) var body: [UInt8] = []
    /// Each chunk's payload, in order (chunked responses only).
    public private(set) var chunks: [[UInt8]] = []
    /// The terminating zero-size chunk arrived.
    public private(set) var sawLastChunk = false
    /// The server closed the connection.
    public var isClosed: Bool { connection.isClosed }
    private var pendingChunkSize: Int?

    private init(connection: BufferedConnection, head: HTTPHead) {
        self.connection = connection
        self.head = head
        self.isChunked = head.headers["Transfer-Encoding"]?.lowercased().contains("chunked") == true
    }

    /// Connects, sends `GET path` and reads the response head.
    public static func open(
        port: UInt16, _ path: String, headers: [(String, String)] = [], version: String = "HTTP/1.1",
        timeout: Duration = .seconds(5), receiveBuffer: Int? = nil
    ) throws -> HTTPStream {
        let connection = BufferedConnection(socket: try TCPSocket(port: port, receiveBuffer: receiveBuffer))
        try connection.socket.send(
            RawHTTPClient.encode(method: "GET", path: path, headers: headers, body: nil, version: version))
        let head = try HTTPHead.read(from: connection, deadline: .after(timeout))
        let stream = HTTPStream(connection: connection, head: head)
        if let length = head.headers["Content-Length"].flatMap({ Int($0) }) {
            // Not a stream after all (a refusal): read the short body now.
            stream.body = try connection.readExact(length, deadline: .after(timeout))
            stream.sawLastChunk = true
        }
        return stream
    }

    /// The status code.
    public var status: Int { head.status }
    /// The decoded body so far as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
    /// The body is complete: last chunk seen, or (unchunked) the connection closed.
    public var ended: Bool {
        sawLastChunk || (connection.isClosed && connection.buffered.isEmpty && pendingChunkSize == nil)
    }

    /// Decodes what is buffered, reading more once if nothing complete is there.
    /// Returns the newly decoded bytes, or nil on timeout / end.
    @discardableResult
    public func readSome(deadline: Deadline) throws -> [UInt8]? {
        while true {
            if let decoded = try decodeBuffered(), !decoded.isEmpty { return decoded }
            if sawLastChunk { return nil }
            guard connection.fill(deadline: deadline) else { return nil }
        }
    }

    private func decodeBuffered() throws -> [UInt8]? {
        guard !sawLastChunk else { return nil }
        guard isChunked else {
            let bytes = connection.takeAll()
            body += bytes
            return bytes
        }
        var decoded: [UInt8] = []
        while true {
            if pendingChunkSize == nil {
                guard let lf = connection.buffered.firstIndex(of: UInt8(ascii: "\n")) else { break }
                var line = connection.take(lf - connection.buffered.startIndex + 1)
                while let last = line.last, last == 10 || last == 13 { line.removeLast() }
                let text = String(decoding: line.prefix { $0 != UInt8(ascii: ";") }, as: UTF8.self).trimmingSpaces()
                guard let size = Int(text, radix: 16) else {
                    throw HarnessError("bad chunk size line \(text.debugDescription) after \(body.count) body bytes")
                }
                pendingChunkSize = size
            }
            let size = pendingChunkSize!
            if size == 0 {
                guard connection.buffered.count >= 2 else { break }
                _ = connection.take(2)
                sawLastChunk = true
                pendingChunkSize = nil
                break
            }
            guard connection.buffered.count >= size + 2 else { break }
            let payload = connection.take(size)
            guard connection.take(2) == [13, 10] else { throw HarnessError("chunk not followed by CRLF") }
            pendingChunkSize = nil
            chunks.append(payload)
            body += payload
            decoded += payload
        }
        return decoded
    }

    /// Reads until `condition` holds (true), or the stream ends / the deadline passes (false).
    public func read(timeout: Duration = .seconds(5), until condition: (HTTPStream) -> Bool) throws -> Bool {
        let deadline = Deadline.after(timeout)
        while !condition(self) {
            if try readSome(deadline: deadline) == nil {
                return condition(self)
            }
        }
        return true
    }

    /// Reads until the body ends (last chunk or close); false on timeout.
    public func readToEnd(timeout: Duration = .seconds(5)) throws -> Bool {
        let deadline = Deadline.after(timeout)
        while !ended {
            if try readSome(deadline: deadline) == nil {
                if ended || connection.isClosed { return true }
                if deadline.hasPassed { return false }
            }
        }
        return true
    }

    /// Waits until the server closes the connection (after the body ended); false on timeout.
    public func waitForClose(timeout: Duration = .seconds(5)) -> Bool {
        connection.waitForClose(deadline: .after(timeout))
    }

    /// Closes the connection.
    public func close() { connection.socket.close() }
}

extension HTTPStream {
    /// Opens a stream off the cooperative pool.
    public static func connect(
        port: UInt16, _ path: String, headers: [(String, String)] = [], version: String = "HTTP/1.1",
        receiveBuffer: Int? = nil
    ) async throws -> HTTPStream {
        try await Blocking.run {
            try HTTPStream.open(port: port, path, headers: headers, version: version, receiveBuffer: receiveBuffer)
        }
    }

    /// Reads until the decoded body contains `text`.
    public func readUntil(contains text: String, timeout: Duration = .seconds(5)) async throws -> Bool {
        try await Blocking.run { try self.read(timeout: timeout) { $0.text.contains(text) } }
    }

    /// Reads until `condition` holds on the stream.
    public func readUntil(
        timeout: Duration = .seconds(5), _ condition: @escaping @Sendable (HTTPStream) -> Bool
    ) async throws -> Bool {
        try await Blocking.run { try self.read(timeout: timeout, until: condition) }
    }

    /// Reads until the body ends; false on timeout.
    public func readEnd(timeout: Duration = .seconds(5)) async throws -> Bool {
        try await Blocking.run { try self.readToEnd(timeout: timeout) }
    }

    /// Reads whatever arrives for `duration` (to check that nothing more comes).
    public func drain(for duration: Duration) async throws {
        _ = try await Blocking.run { try self.read(timeout: duration) { _ in false } }
    }
}
