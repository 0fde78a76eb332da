/// Renders `/presence` answers in the stats formats (JSON, plain text, YAML, XML), with names
/// escaped as ``StatsRenderer`` escapes them. Users are listed in name order.
public enum PresenceRenderer {
    /// The users online on `channel`, with their connection counts.
    public static func channel(_ channel: String, users: [String: Int], as format: StatsFormat) -> String {
        let online = users.filter { $0.value > 0 }.sorted { $0.key < $1.key }
        let connections = online.reduce(0) { $0 + $1.value }
        let crlf = StatsRenderer.crlf
        switch format.syntax {
        case .json, .xJSON:
            let items = online.map { "{\"user\": \(StatsRenderer.json($0.key)), \"connections\": \($0.value)}" }
            return "{\"channel\": \(StatsRenderer.json(channel)), \"users\": \(online.count), "
                + "\"connections\": \(connections), \"online\": [" + items.joined(separator: ", ") + "]}" + crlf
        case .plain:
            return "channel: \(StatsRenderer.plain(channel))" + crlf + "users: \(online.count)" + crlf
                + "connections: \(connections)" + crlf + "online: " + crlf
                + online.map { "user: \(StatsRenderer.plain($0.key)), connections: \($0.value)" + crlf }.joined()
        case .yaml, .xYAML:
            return "channel: \(StatsRenderer.yaml(channel))" + crlf + "users: \(online.count)" + crlf
                + "connections: \(connections)" + crlf + "online:" + (online.isEmpty ? " []" : "") + crlf
                + online.map {
                    " - user: \(StatsRenderer.yamlQuoted($0.key))" + crlf + "   connections: \($0.value)" + crlf
                }.joined()
        case .xml:
            return StatsRenderer.xmlProlog + "<presence>" + crlf + "  <channel>\(StatsRenderer.xml(channel))</channel>"
                + crlf + "  <users>\(online.count)</users>" + crlf + "  <connections>\(connections)</connections>"
                + crlf + "  <online>" + crlf
                + online.map {
                    "    <user connections=\"\($0.value)\">\(StatsRenderer.xml($0.key))</user>" + crlf
                }.joined() + "  </online>" + crlf + "</presence>" + crlf
        }
    }

    /// Whether `user` is online anywhere, on how many connections.
    public static func user(_ user: String, connections: Int, as format: StatsFormat) -> String {
        let crlf = StatsRenderer.crlf
        let online = connections > 0
        switch format.syntax {
        case .json, .xJSON:
            return "{\"user\": \(StatsRenderer.json(user)), \"online\": \(online), \"connections\": \(connections)}"
                + crlf
        case .plain:
            return "user: \(StatsRenderer.plain(user))" + crlf + "online: \(online)" + crlf
                + "connections: \(connections)" + crlf
        case .yaml, .xYAML:
            return "user: \(StatsRenderer.yamlQuoted(user))" + crlf + "online: \(online)" + crlf
                + "connections: \(connections)" + crlf
        case .xml:
            return StatsRenderer.xmlProlog + "<presence>" + crlf + "  <user>\(StatsRenderer.xml(user))</user>" + crlf
                + "  <online>\(online)</online>" + crlf + "  <connections>\(connections)</connections>" + crlf
                + "</presence>" + crlf
        }
    }
}
