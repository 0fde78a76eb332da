/// Renders channel information and statistics bodies byte for byte like push-stream,
/// with names escaped so every body stays valid JSON, YAML or XML whatever the channel is called.
public enum StatsRenderer {
    /// One channel: `GET /pub`, `POST /pub` on one channel, stats for one existing id.
    public static func single(_ info: ChannelInfo, as format: StatsFormat) -> String {
        switch format.syntax {
        case .json:
            return item(info, .json) + crlf
        case .plain:
            return item(info, .plain) + crlf
        case .yaml:
            return item(info, .yaml) + crlf
        default:
            return xmlProlog + item(info, .xml) + crlf
        }
    }

    /// Several channels with the server-wide header; an empty `infos` still renders a valid body.
    public static func group(_ group: StatsGroup, as format: StatsFormat) -> String {
        let time = HTTPDate.iso8601(group.time)
        let items = group.infos.map { item($0, format.syntax) }
        switch format.syntax {
        case .json:
            return "{\"hostname\": \(json(group.hostname)), \"time\": \"\(time)\", \"channels\": \(group.channels), "
                + "\"wildcard_channels\": \(group.wildcardChannels), \"uptime\": \(group.uptime), \"infos\": ["
                + crlf + items.joined(separator: "," + crlf) + (items.isEmpty ? "" : crlf) + "]}" + crlf
        case .plain:
            return "hostname: \(plain(group.hostname)), time: \(time), channels: \(group.channels), "
                + "wildcard_channels: \(group.wildcardChannels), uptime: \(group.uptime), infos: " + crlf
                + items.joined(separator: "," + crlf) + crlf
        case .yaml:
            return "hostname: \(yaml(group.hostname))" + crlf + "time: \(time)" + crlf
                + "channels: \(group.channels)" + crlf + "wildcard_channels: \(group.wildcardChannels)" + crlf
                + "uptime: \(group.uptime)" + crlf + "infos: " + crlf
                + items.map { " -" + crlf + $0 }.joined(separator: crlf) + crlf
        default:
            return xmlProlog + "<root>" + crlf + "  <hostname>\(xml(group.hostname))</hostname>" + crlf
                + "  <time>\(time)</time>" + crlf + "  <channels>\(group.channels)</channels>" + crlf
                + "  <wildcard_channels>\(group.wildcardChannels)</wildcard_channels>" + crlf
                + "  <uptime>\(group.uptime)</uptime>" + crlf + "  <infos>" + crlf + items.joined()
                + "  </infos>" + crlf + "</root>" + crlf
        }
    }

    /// The `/channels-stats` summary with its per-worker breakdown.
    public static func summary(_ s: StatsSummary, as format: StatsFormat) -> String {
        let time = HTTPDate.iso8601(s.time)
        switch format.syntax {
        case .json:
            let workers = s.workers.map {
                "{\"pid\": \"\($0.pid)\", \"subscribers\": \($0.subscribers), \"uptime\": \($0.uptime)}"
            }
            return "{\"hostname\": \(json(s.hostname)), \"time\": \"\(time)\", \"channels\": \(s.channels), "
                + "\"wildcard_channels\": \(s.wildcardChannels), \"published_messages\": \(s.publishedMessages), "
                + "\"stored_messages\": \(s.storedMessages), \"messages_in_trash\": \(s.messagesInTrash), "
                + "\"channels_in_delete\": \(s.channelsInDelete), \"channels_in_trash\": \(s.channelsInTrash), "
                + "\"subscribers\": \(s.subscribers), \"uptime\": \(s.uptime), \"by_worker\": [" + crlf
                + workers.joined(separator: "," + crlf) + crlf + "]}" + crlf
        case .plain, .yaml:
            // Same fields and shape; YAML indents everything (and quotes the host name if needed).
            let isYAML = format.syntax == .yaml
            let pad = isYAML ? "  " : ""
            let fields: [(String, String)] = [
                ("hostname", isYAML ? yaml(s.hostname) : plain(s.hostname)), ("time", time),
                ("channels", "\(s.channels)"), ("wildcard_channels", "\(s.wildcardChannels)"),
                ("published_messages", "\(s.publishedMessages)"), ("stored_messages", "\(s.storedMessages)"),
                ("messages_in_trash", "\(s.messagesInTrash)"), ("channels_in_delete", "\(s.channelsInDelete)"),
                ("channels_in_trash", "\(s.channelsInTrash)"), ("subscribers", "\(s.subscribers)"),
                ("uptime", "\(s.uptime)"),
            ]
            let workerPad = isYAML ? "    " : "  "
            let workers = s.workers.map {
                (isYAML ? "   -" + crlf : "") + "\(workerPad)pid: \($0.pid)" + crlf
                    + "\(workerPad)subscribers: \($0.subscribers)" + crlf + "\(workerPad)uptime: \($0.uptime)"
            }
            return fields.map { "\(pad)\($0.0): \($0.1)" + crlf }.joined() + "\(pad)by_worker:" + crlf
                + workers.joined(separator: isYAML ? crlf : "," + crlf) + crlf
        default:
            let workers = s.workers.map {
                "<worker>" + crlf + "  <pid>\($0.pid)</pid>" + crlf + "  <subscribers>\($0.subscribers)</subscribers>"
                    + crlf + "  <uptime>\($0.uptime)</uptime>" + crlf + "</worker>" + crlf
            }
            return xmlProlog + "<infos>" + crlf + "  <hostname>\(xml(s.hostname))</hostname>" + crlf
                + "  <time>\(time)</time>" + crlf + "  <channels>\(s.channels)</channels>" + crlf
                + "  <wildcard_channels>\(s.wildcardChannels)</wildcard_channels>" + crlf
                + "  <published_messages>\(s.publishedMessages)</published_messages>" + crlf
                + "  <stored_messages>\(s.storedMessages)</stored_messages>" + crlf
                + "  <messages_in_trash>\(s.messagesInTrash)</messages_in_trash>" + crlf
                + "  <channels_in_delete>\(s.channelsInDelete)</channels_in_delete>" + crlf
                + "  <channels_in_trash>\(s.channelsInTrash)</channels_in_trash>" + crlf
                + "  <subscribers>\(s.subscribers)</subscribers>" + crlf + "  <uptime>\(s.uptime)</uptime>" + crlf
                + "  <by_worker>\(workers.joined())</by_worker>" + crlf + "</infos>" + crlf
        }
    }

    static let crlf = "\r\n"
    static let xmlProlog = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n"

    /// One channel's fields without the trailing line break (the group forms add their own separators).
    static func item(_ info: ChannelInfo, _ syntax: StatsFormat) -> String {
        switch syntax {
        case .json, .xJSON:
            // Every publish answers with this: built in one string rather than joined from pieces.
            var out = "{\"channel\": \""
            out.reserveCapacity(120 + info.channel.utf8.count)
            out += JSONEscaping.escaped(info.channel)
            out += "\", \"published_messages\": "
            out += String(info.publishedMessages)
            out += ", \"stored_messages\": "
            out += String(info.storedMessages)
            out += ", \"subscribers\": "
            out += String(info.subscribers)
            out += "}"
            return out
        case .plain:
            return "channel: \(plain(info.channel))" + crlf + "published_messages: \(info.publishedMessages)" + crlf
                + "stored_messages: \(info.storedMessages)" + crlf + "active_subscribers: \(info.subscribers)"
        case .yaml, .xYAML:
            return "  channel: \(yaml(info.channel))" + crlf + "  published_messages: \(info.publishedMessages)"
                + crlf + "  stored_messages: \(info.storedMessages)" + crlf + "  subscribers: \(info.subscribers)"
        case .xml:
            return "<channel>" + crlf + "  <name>\(xml(info.channel))</name>" + crlf
                + "  <published_messages>\(info.publishedMessages)</published_messages>" + crlf
                + "  <stored_messages>\(info.storedMessages)</stored_messages>" + crlf
                + "  <subscribers>\(info.subscribers)</subscribers>" + crlf + "</channel>" + crlf
        }
    }

    /// A JSON string literal, quotes included.
    static func json(_ s: String) -> String {
        "\"" + JSONEscaping.escaped(s) + "\""
    }

    /// `s` as a YAML scalar: bare when that is unambiguous (as push-stream prints it), else a
    /// double-quoted string in which nothing YAML reads as a line break or cannot print stays raw.
    static func yaml(_ s: String) -> String {
        guard let first = s.utf8.first, isYAMLPlainStart(first), s.utf8.allSatisfy(isYAMLPlainByte) else {
            return yamlQuoted(s)
        }
        return s
    }

    /// A YAML double-quoted scalar: JSON's escapes plus `\uXXXX` for DEL, the C1 controls (NEL is a
    /// YAML line break), U+2028/U+2029, the byte order mark and the noncharacters U+FFFE/U+FFFF.
    static func yamlQuoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0}"..."\u{1F}", "\u{7F}"..."\u{9F}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFE}", "\u{FFFF}":
                out += unicodeEscape(scalar)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `\u` and four lowercase hex digits (the scalars escaped this way are all in the BMP).
    static func unicodeEscape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.utf8.count)) + hex
    }

    /// `s` for the plain-text format, one value per line: control bytes become `\xHH`, and NEL,
    /// U+2028 and U+2029 `\uXXXX`, so a name can never start a line of its own.
    static func plain(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: isLineBreaking) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for scalar in s.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                let hex = String(scalar.value, radix: 16)
                out += (hex.utf8.count == 1 ? "\\x0" : "\\x") + hex
            } else if isLineBreaking(scalar) {
                out += unicodeEscape(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Whether a text viewer or line splitter could break a line at (or choke on) `scalar`.
    static func isLineBreaking(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x85 || scalar.value == 0x2028
            || scalar.value == 0x2029
    }

    static func isYAMLPlainStart(_ byte: UInt8) -> Bool {
        isASCIIAlphanumeric(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "/")
    }

    static func isYAMLPlainByte(_ byte: UInt8) -> Bool {
        isASCIIAlphanumeric(byte) || "_-./()".utf8.contains(byte)
    }

    static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
    }

    /// `s` as XML character data: markup characters escaped, line breaks (CR, LF, NEL, U+2028,
    /// U+2029) and DEL as character references so a name stays on its line, and control characters
    /// XML 1.0 cannot carry at all replaced by U+FFFD.
    static func xml(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\r", "\u{7F}", "\u{85}", "\u{2028}", "\u{2029}": out += "&#\(scalar.value);"
            case "\t": out.unicodeScalars.append(scalar)
            case "\u{0}"..."\u{1F}", "\u{FFFE}", "\u{FFFF}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
