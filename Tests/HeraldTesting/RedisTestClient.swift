/// A reply of the RESP2 protocol.
public indirect enum RESPReply: Sendable, Equatable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)
    case array([RESPReply]?)

    /// The text of a simple string or bulk string.
    public var string: String? {
        switch self {
        case .simple(let text): text
        case .bulk(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// An integer reply, or a string reply that holds an integer.
    public var integer: Int? {
        if case .integer(let value) = self { return value }
        return string.flatMap { Int($0) }
    }

    /// The items of a non-nil array reply.
    public var array: [RESPReply]? {
        if case .array(let items?) = self { return items }
        return nil
    }

    /// The reply in RESP-like notation, for failure messages.
    public var description: String {
        switch self {
        case .simple(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulk(let bytes): bytes.map { String(decoding: $0, as: UTF8.self).debugDescription } ?? "(nil)"
        case .array(let items): items.map { "[\($0.map(\.description).joined(separator: ", "))]" } ?? "(nil array)"
        }
    }
}

/// A RESP client on one blocking socket, independent of Herald's own Redis code: the tests use it
/// to look into Redis and to break things (`CLIENT KILL`, `DEBUG`). Every read has a deadline.
public final class RedisTestClient: @unchecked Sendable {
    /// The connection commands go out on.
    public let connection: BufferedConnection
    /// How long a reply may take.
    public let timeout: Duration

    /// Connects to `127.0.0.1:port`.
    public init(port: UInt16, timeout: Duration = .seconds(5)) throws {
        connection = BufferedConnection(socket: try TCPSocket(port: port))
        self.timeout = timeout
    }

    /// Sends one command and reads its reply.
    public func command(_ arguments: [String]) throws -> RESPReply {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            let utf8 = Array(argument.utf8)
            bytes += Array("$\(utf8.count)\r\n".utf8) + utf8 + [13, 10]
        }
        try connection.socket.send(bytes)
        return try readReply(deadline: .after(timeout))
    }

    /// Reads the next reply without sending anything: a pub/sub push.
    public func readPush(timeout: Duration? = nil) throws -> RESPReply {
        try readReply(deadline: .after(timeout ?? self.timeout))
    }

    private func readReply(deadline: Deadline) throws -> RESPReply {
        let line = try connection.readLine(deadline: deadline, what: "RESP reply")
        guard let kind = line.first else { throw HarnessError("empty RESP line") }
        let rest = String(line.dropFirst())
        switch kind {
        case "+": return .simple(rest)
        case "-": return .error(rest)
        case ":":
            guard let value = Int(rest) else { throw HarnessError("bad RESP integer \(rest)") }
            return .integer(value)
        case "$":
            guard let length = Int(rest) else { throw HarnessError("bad RESP length \(rest)") }
            if length < 0 { return .bulk(nil) }
            let payload = try connection.readExact(length + 2, deadline: deadline, what: "RESP bulk")
            return .bulk(Array(payload.prefix(length)))
        case "*":
            guard let count = Int(rest) else { throw HarnessError("bad RESP count \(rest)") }
            if count < 0 { return .array(nil) }
            return .array(try (0..<count).map { _ in try readReply(deadline: deadline) })
        default:
            throw HarnessError("unexpected RESP line \(line.debugDescription)")
        }
    }

    /// Closes the connection.
    public func close() { connection.socket.close() }
}

extension RedisServerProcess {
    /// One command on a fresh connection, off the cooperative pool.
    public func command(_ arguments: String...) async throws -> RESPReply {
        try await command(arguments)
    }

    /// One command, its arguments as an array, on a fresh connection, off the cooperative pool.
    public func command(_ arguments: [String]) async throws -> RESPReply {
        let port = self.port
        return try await Blocking.run {
            let client = try RedisTestClient(port: port)
            defer { client.close() }
            return try client.command(arguments)
        }
    }
}
