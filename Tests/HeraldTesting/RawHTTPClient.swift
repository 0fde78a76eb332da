/// An HTTP/1.1 client on one blocking socket: requests with Content-Length, chunked and
/// read-until-close bodies, several requests on one keep-alive connection, and raw bytes for
/// malformed-request tests. Every read has a deadline.
public final class RawHTTPClient: @unchecked Sendable {
    /// The connection requests go out on.
    public let connection: BufferedConnection
    /// How long a read waits when no deadline is given.
    public let timeout: Duration

    /// Connects to `127.0.0.1:port`; `receiveBuffer` sets `SO_RCVBUF` before connecting.
    public init(port: UInt16, timeout: Duration = .seconds(5), receiveBuffer: Int? = nil) throws {
        connection = BufferedConnection(socket: try TCPSocket(port: port, receiveBuffer: receiveBuffer))
        self.timeout = timeout
    }

    /// The underlying socket, for raw bytes.
    public var socket: TCPSocket { connection.socket }

    /// The request bytes: request line, `Host`, the given headers, `Content-Length` when there is a body.
    public static func encode(
        method: String, path: String, headers: [(String, String)], body: [UInt8]?, version: String = "HTTP/1.1"
    ) -> [UInt8] {
        var text = "\(method) \(path) \(version)\r\n"
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { text += "Host: 127.0.0.1\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body, !headers.contains(where: { $0.0.lowercased() == "content-length" }) {
            text += "Content-Length: \(body.count)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8) + (body ?? [])
    }

    /// Sends one request.
    public func send(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        version: String = "HTTP/1.1"
    ) throws {
        try connection.socket.send(
            Self.encode(method: method, path: path, headers: headers, body: body, version: version))
    }

    /// Reads one complete response. `method` tells whether a body follows (not for HEAD).
    public func readResponse(method: String = "GET", deadline: Deadline? = nil) throws -> HTTPResponse {
        let deadline = deadline ?? .after(timeout)
        let head = try HTTPHead.read(from: connection, deadline: deadline)
        if method == "HEAD" || head.status / 100 == 1 || head.status == 204 || head.status == 304 {
            return HTTPResponse(head: head, body: [])
        }
        if head.headers["Transfer-Encoding"]?.lowercased().contains("chunked") == true {
            var body: [UInt8] = []
            while true {
                let sizeLine = try connection.readLine(deadline: deadline, what: "chunk size")
                guard let size = Int(String(sizeLine.split(separator: ";").first ?? "").trimmingSpaces(), radix: 16)
                else {
                    throw HarnessError("bad chunk size line \(sizeLine.debugDescription)")
                }
                if size == 0 {
                    while try !connection.readLine(deadline: deadline, what: "trailer").isEmpty {}
                    break
                }
                body += try connection.readExact(size, deadline: deadline, what: "chunk")
                guard try connection.readExact(2, deadline: deadline, what: "chunk end") == [13, 10] else {
                    throw HarnessError("chunk not followed by CRLF")
                }
            }
            return HTTPResponse(head: head, body: body, wasChunked: true)
        }
        if let length = head.headers["Content-Length"].flatMap({ Int($0) }) {
            return HTTPResponse(head: head, body: try connection.readExact(length, deadline: deadline))
        }
        return HTTPResponse(head: head, body: try connection.readToClose(deadline: deadline))
    }

    /// Sends a request and reads its response.
    public func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        version: String = "HTTP/1.1", deadline: Deadline? = nil
    ) throws -> HTTPResponse {
        try send(method, path, headers: headers, body: body, version: version)
        return try readResponse(method: method, deadline: deadline)
    }

    /// Whether the server closed this connection within `within`.
    public func waitForClose(within: Duration) -> Bool {
        connection.waitForClose(deadline: .after(within))
    }

    /// Closes the connection.
    public func close() { connection.socket.close() }
}

extension RawHTTPClient {
    /// One request on a fresh connection, off the cooperative pool.
    public static func request(
        port: UInt16, _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        version: String = "HTTP/1.1", timeout: Duration = .seconds(5)
    ) async throws -> HTTPResponse {
        try await Blocking.run {
            let client = try RawHTTPClient(port: port, timeout: timeout)
            defer { client.close() }
            return try client.request(method, path, headers: headers, body: body, version: version)
        }
    }

    /// Sends a request and reads its response, off the cooperative pool.
    public func perform(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        version: String = "HTTP/1.1"
    ) async throws -> HTTPResponse {
        try await Blocking.run { try self.request(method, path, headers: headers, body: body, version: version) }
    }
}
