/// Where a Redis server is and how to log in: `redis://[[user]:password@]host[:port][/db]`.
///
/// The port defaults to 6379 and the database to 0. User and password may be percent-encoded.
/// TLS (`rediss://`), Unix sockets and query parameters are not supported and are rejected with a clear error.
public struct RedisURL: Sendable, Hashable {
    /// The host name or IP address (an IPv6 address without brackets).
    public var host: String
    /// The TCP port.
    public var port: Int
    /// The database index selected after connecting (`SELECT`); 0 needs no command.
    public var database: Int
    /// The ACL user name, if any (`AUTH user password`).
    public var user: String?
    /// The password, if any (`AUTH password`, or `AUTH user password` with a user).
    public var password: String?

    /// A URL from its parts.
    public init(host: String, port: Int = 6379, database: Int = 0, user: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`.
    ///
    /// - Throws: ``RedisError/invalidURL(_:)`` naming what is wrong (never echoing the password).
    public init(_ string: String) throws(RedisError) {
        guard let schemeEnd = string.firstRange(of: "://") else {
            throw .invalidURL("expected redis://host[:port][/db]")
        }
        let scheme = string[..<schemeEnd.lowerBound].lowercased()
        switch scheme {
        case "redis":
            break
        case "rediss":
            throw .invalidURL("rediss:// (TLS) is not supported; use redis://")
        case "unix", "redis+unix", "redis-socket":
            throw .invalidURL("unix sockets are not supported; use redis://host[:port]")
        default:
            throw .invalidURL("unsupported scheme '\(scheme)'; use redis://")
        }
        let rest = string[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            throw .invalidURL("query parameters and fragments are not supported")
        }
        let authority: Substring
        let path: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
            path = ""
        }

        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            guard let colon = userInfo.firstIndex(of: ":") else {
                throw .invalidURL("credentials need a colon: redis://:password@host or redis://user:password@host")
            }
            let user = try Self.percentDecoded(userInfo[..<colon], part: "user")
            let password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], part: "password")
            self.user = user.isEmpty ? nil : user
            self.password = password.isEmpty ? nil : password
            if self.user != nil && self.password == nil {
                throw .invalidURL("a user needs a password: redis://user:password@host")
            }
        } else {
            self.user = nil
            self.password = nil
        }

        let portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw .invalidURL("unterminated IPv6 address (missing ']')")
            }
            self.host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.isEmpty {
                portText = nil
            } else if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else {
                throw .invalidURL("unexpected text after the IPv6 address")
            }
        } else {
            let colons = hostPort.filter { $0 == ":" }.count
            if colons > 1 {
                throw .invalidURL("an IPv6 address needs brackets: redis://[::1]:6379")
            }
            if let colon = hostPort.firstIndex(of: ":") {
                self.host = String(hostPort[..<colon])
                portText = hostPort[hostPort.index(after: colon)...]
            } else {
                self.host = String(hostPort)
                portText = nil
            }
        }
        if self.host.isEmpty {
            throw .invalidURL("missing host")
        }

        if let portText {
            guard !portText.isEmpty, portText.allSatisfy(\.isASCIIDigit), let port = Int(portText),
                (1...65535).contains(port)
            else {
                throw .invalidURL("port must be a number from 1 to 65535, got '\(portText)'")
            }
            self.port = port
        } else {
            self.port = 6379
        }

        if path.isEmpty {
            self.database = 0
        } else {
            guard path.allSatisfy(\.isASCIIDigit), let database = Int(path), database <= Int(Int32.max) else {
                throw .invalidURL("database must be a non-negative number, got '\(path)'")
            }
            self.database = database
        }
    }

    /// `host:port`, with brackets around an IPv6 address; used in logs and errors.
    public var address: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    private static func percentDecoded(_ text: Substring, part: String) throws(RedisError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue)
            else {
                throw .invalidURL("bad percent-encoding in the \(part)")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .invalidURL("the \(part) is not valid UTF-8 after percent-decoding")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension RedisURL: CustomStringConvertible {
    /// The URL with the password masked, safe to log.
    public var description: String {
        var text = "redis://"
        if self.user != nil || self.password != nil {
            text += "\(self.user ?? ""):***@"
        }
        text += self.address
        if self.database != 0 {
            text += "/\(self.database)"
        }
        return text
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool {
        ("0"..."9").contains(self)
    }
}
