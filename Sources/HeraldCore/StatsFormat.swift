/// The body format of channel information and statistics, chosen from the `Accept` header.
public enum StatsFormat: Sendable {
    /// JSON, `application/json` (the default).
    case json
    /// Line-oriented `key: value` text, `text/plain`.
    case plain
    /// YAML, `application/yaml`.
    case yaml
    /// XML, `application/xml`.
    case xml
    /// JSON served as `text/x-json`.
    case xJSON
    /// YAML served as `text/x-yaml`.
    case xYAML

    /// Picks the format the way push-stream does: the text after each `/` of `accept`, in turn, is
    /// prefix-compared with `plain`, `json`, `yaml`, `xml`, `x-json`, `x-yaml`; first hit wins, else JSON.
    ///
    /// Going past the first `/` matters for browsers: `text/html,…,application/xml;q=0.9` gets XML
    /// from push-stream, so it does from Herald too.
    public init(accept: String?) {
        self = .json
        guard let accept else { return }
        let bytes = Array(accept.utf8)
        var index = 0
        while let slash = bytes[index...].firstIndex(of: UInt8(ascii: "/")) {
            let subtype = bytes[(slash + 1)...]
            for (name, format) in StatsFormat.subtypes
            where subtype.count >= name.count
                && PercentDecoding.asciiCaseInsensitiveEqual(subtype.prefix(name.count), name)
            {
                self = format
                return
            }
            index = slash + 1
        }
    }

    /// The response `Content-Type` for this format.
    public var contentType: String {
        switch self {
        case .json: "application/json"
        case .plain: "text/plain"
        case .yaml: "application/yaml"
        case .xml: "application/xml"
        case .xJSON: "text/x-json"
        case .xYAML: "text/x-yaml"
        }
    }

    /// The syntax the body is written in (x-json is JSON, x-yaml is YAML).
    var syntax: StatsFormat {
        switch self {
        case .json, .xJSON: .json
        case .yaml, .xYAML: .yaml
        case .plain: .plain
        case .xml: .xml
        }
    }

    static let subtypes: [([UInt8], StatsFormat)] = [
        (Array("plain".utf8), .plain), (Array("json".utf8), .json), (Array("yaml".utf8), .yaml),
        (Array("xml".utf8), .xml), (Array("x-json".utf8), .xJSON), (Array("x-yaml".utf8), .xYAML),
    ]
}
