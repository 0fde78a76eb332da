/// Response header fields in arrival order, looked up case-insensitively.
public struct HeaderFields: Sendable, CustomStringConvertible {
    /// Every field, as received.
    public var fields: [(name: String, value: String)] = []

    /// The first value of `name`, compared case-insensitively.
    public subscript(name: String) -> String? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }

    /// Every value of `name`, in order, compared case-insensitively.
    public func all(_ name: String) -> [String] {
        let lower = name.lowercased()
        return fields.filter { $0.name.lowercased() == lower }.map(\.value)
    }

    /// Whether a field `name` is present.
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// The fields as `Name: value` lines.
    public var description: String { fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n") }
}

/// A status line and headers.
public struct HTTPHead: Sendable {
    /// The protocol, such as `HTTP/1.1`.
    public var version: String
    /// The status code.
    public var status: Int
    /// The reason phrase.
    public var reason: String
    /// The header fields.
    public var headers: HeaderFields

    /// `X-Nginx-PushStream-Explain`: why a request was refused.
    public var explain: String? { headers["X-Nginx-PushStream-Explain"] }

    /// Parses the status line and header lines from `connection`.
    public static func read(from connection: BufferedConnection, deadline: Deadline) throws -> HTTPHead {
        let statusLine = try connection.readLine(deadline: deadline, what: "status line")
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw HarnessError("malformed status line: \(statusLine.debugDescription)")
        }
        var headers = HeaderFields()
        while true {
            let line = try connection.readLine(deadline: deadline, what: "header line")
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else {
                throw HarnessError("malformed header: \(line.debugDescription)")
            }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...]).trimmingSpaces()
            headers.fields.append((name, value))
        }
        return HTTPHead(
            version: String(parts[0]), status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers
        )
    }
}

/// A complete response.
public struct HTTPResponse: Sendable, CustomStringConvertible {
    /// The status line and headers.
    public var head: HTTPHead
    /// The body, de-chunked.
    public var body: [UInt8]
    /// Whether the body was chunk-encoded on the wire.
    public var wasChunked = false

    /// The status code.
    public var status: Int { head.status }
    /// The header fields.
    public var headers: HeaderFields { head.headers }
    /// `X-Nginx-PushStream-Explain`: why a request was refused.
    public var explain: String? { head.explain }
    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The whole response, for failure messages.
    public var description: String { "\(head.version) \(status) \(head.reason)\n\(headers)\n\n\(text)" }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    public func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
