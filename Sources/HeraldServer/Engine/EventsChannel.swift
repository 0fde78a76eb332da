import HeraldCore

/// The texts of push-stream's events channel (§7), where apps watch channels and subscribers come and go.
enum EventsChannel {
    static func text(type: String, channel: String) -> [UInt8] {
        var out = Array(#"{"type": ""#.utf8)
        out += type.utf8
        out += #"", "channel": ""#.utf8
        JSONEscaping.append(channel, into: &out)
        out += #""}"#.utf8
        return out
    }
}
