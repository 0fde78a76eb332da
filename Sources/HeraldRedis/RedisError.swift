/// An error from Herald's Redis client.
///
/// Compare with the static members (`error == .timeout`); two errors are equal when they are of the same
/// kind with the same detail. The server address is context, shown in ``description`` but not compared.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case connectionClosed
        case timeout
        case connectTimeout
        case connectFailed(String)
        case server(String)
        case authenticationFailed(String)
        case protocolViolation(String)
        case invalidURL(String)
        case invalidCommand(String)
        case notConnected
        case shutDown
        case subscriptionWithdrawn
    }

    private let code: Code

    /// The `host:port` of the Redis server this error concerns, when known.
    public private(set) var address: String?

    private init(_ code: Code, address: String? = nil) {
        self.code = code
        self.address = address
    }

    /// The connection closed (Redis went away, or the connection was closed) before a reply arrived.
    public static let connectionClosed = RedisError(.connectionClosed)

    /// Redis did not reply within the command timeout; the connection was closed.
    public static let timeout = RedisError(.timeout)

    /// The TCP connection was not established within the connect timeout.
    public static let connectTimeout = RedisError(.connectTimeout)

    /// The TCP connection could not be established, for the given reason (e.g. "connection refused").
    public static func connectFailed(_ reason: String) -> RedisError {
        RedisError(.connectFailed(reason))
    }

    /// Redis answered with an error reply, whose text is `message` (e.g. "ERR unknown command").
    public static func server(_ message: String) -> RedisError {
        RedisError(.server(message))
    }

    /// Redis refused the credentials of the URL (or asked for credentials the URL lacks).
    public static func authenticationFailed(_ message: String) -> RedisError {
        RedisError(.authenticationFailed(message))
    }

    /// The bytes from Redis were not valid RESP, or a reply did not match what was asked.
    public static func protocolViolation(_ detail: String) -> RedisError {
        RedisError(.protocolViolation(detail))
    }

    /// A Redis URL could not be used, for the given reason.
    public static func invalidURL(_ reason: String) -> RedisError {
        RedisError(.invalidURL(reason))
    }

    /// A command was malformed before it was sent (e.g. no arguments).
    public static func invalidCommand(_ reason: String) -> RedisError {
        RedisError(.invalidCommand(reason))
    }

    /// The client is between connections (reconnecting); the command was not sent.
    public static let notConnected = RedisError(.notConnected)

    /// The client or subscriber was shut down.
    public static let shutDown = RedisError(.shutDown)

    /// A channel was unsubscribed before Redis confirmed its subscription.
    public static let subscriptionWithdrawn = RedisError(.subscriptionWithdrawn)

    /// The text of a server error reply, or `nil` for other errors.
    public var serverMessage: String? {
        if case .server(let message) = self.code {
            return message
        }
        return nil
    }

    /// Whether this is Redis's `NOSCRIPT` reply (the script is not in its cache).
    var isNoScript: Bool {
        self.serverMessage?.hasPrefix("NOSCRIPT") ?? false
    }

    /// This error, with the address of the server it concerns.
    func at(_ address: String) -> RedisError {
        var copy = self
        copy.address = address
        return copy
    }

    /// Two errors are equal when they have the same kind and detail; the address is not compared.
    public static func == (lhs: RedisError, rhs: RedisError) -> Bool {
        lhs.code == rhs.code
    }

    /// Hashes the kind and detail, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
    }

    /// One line naming the server and what went wrong, e.g. "redis at 127.0.0.1:6390: connection refused".
    public var description: String {
        let detail: String
        switch self.code {
        case .connectionClosed:
            detail = "connection closed"
        case .timeout:
            detail = "no reply within the command timeout; connection closed"
        case .connectTimeout:
            detail = "connect timed out"
        case .connectFailed(let reason):
            detail = reason
        case .server(let message):
            detail = message
        case .authenticationFailed(let message):
            detail = "authentication failed: \(message)"
        case .protocolViolation(let reason):
            detail = "protocol error: \(reason)"
        case .invalidURL(let reason):
            detail = "invalid redis URL: \(reason)"
        case .invalidCommand(let reason):
            detail = "invalid command: \(reason)"
        case .notConnected:
            detail = "not connected (reconnecting)"
        case .shutDown:
            detail = "client was shut down"
        case .subscriptionWithdrawn:
            detail = "unsubscribed before redis confirmed the subscription"
        }
        if let address = self.address {
            return "redis at \(address): \(detail)"
        }
        return "redis: \(detail)"
    }
}
