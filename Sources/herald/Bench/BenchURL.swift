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

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
