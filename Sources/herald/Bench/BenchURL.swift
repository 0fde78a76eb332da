import ArgumentParser

/// A `http://host:port/path{channel}` or `ws://…` template.
struct BenchURL: Sendable {
    let scheme: String
    let host: String
    let port: Int
    let pathTemplate: String

    init(_ text: String) throws {
        guard let schemeEnd = text.range(of: "://") else { throw ValidationError("URL needs a scheme: \(text)") }
        scheme = String(text[..<schemeEnd.lowerBound])
        guard ["http", "ws"].contains(scheme) else { throw ValidationError("Only http:// and ws:// URLs: \(text)") }
        let rest = text[schemeEnd.upperBound...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        pathTemplate = slash == rest.endIndex ? "/" : String(rest[slash...])
        if let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            self.port = port
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty else { throw ValidationError("URL without a host: \(text)") }
    }

    /// The template with `{node}` replaced by a node's `host:port`.
    init(_ template: String, node: String) throws {
        try self.init(template.replacingOccurrences(of: "{node}", with: node))
    }

    func path(channel: String) -> String {
        pathTemplate.replacingOccurrences(of: "{channel}", with: channel)
    }
}

/// A publish body template: `{message}` is the bench message (its marker and padding), `{channel}`
/// its channel; for servers whose publish API wants the message wrapped (Pushpin's JSON items).
struct BenchPublishBody: Sendable {
    private let parts: [String]

    init(_ template: String) throws {
        parts = template.split(separator: "{message}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { throw ValidationError("--publish-body needs {message}: \(template)") }
    }

    /// The body for `message` on `channel`.
    func render(_ message: [UInt8], channel: String) -> [UInt8] {
        var body: [UInt8] = []
        for (index, part) in parts.enumerated() {
            if index > 0 { body += message }
            body += part.replacingOccurrences(of: "{channel}", with: channel).utf8
        }
        return body
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
