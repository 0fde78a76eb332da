/// Response header fields in arrival order, looked up case-insensitively.
struct HeaderFields: Sendable, CustomStringConvertible {
    var fields: [(name: String, value: String)] = []

    /// The first value of `name`, compared case-insensitively.
    subscript(name: String) -> String? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }

    func all(_ name: String) -> [String] {
        let lower = name.lowercased()
        return fields.filter { $0.name.lowercased() == lower }.map(\.value)
    }

    func contains(_ name: String) -> Bool { self[name] != nil }

    var description: String { fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n") }
}

/// A status line and headers.
struct HTTPHead: Sendable {
    var version: String
    var status: Int
    var reason: String
    var headers: HeaderFields

    var explain: String? { headers["X-Nginx-PushStream-Explain"] }

    /// Parses the status line and header lines from `connection`.
    static func read(from connection: BufferedConnection, deadline: Deadline) throws -> HTTPHead {
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
struct HTTPResponse: Sendable, CustomStringConvertible {
    var head: HTTPHead
    var body: [UInt8]
    /// Whether the body was chunk-encoded on the wire.
    var wasChunked = false

    var status: Int { head.status }
    var headers: HeaderFields { head.headers }
    var explain: String? { head.explain }
    var text: String { String(decoding: body, as: UTF8.self) }

    var description: String { "\(head.version) \(status) \(head.reason)\n\(headers)\n\n\(text)" }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
