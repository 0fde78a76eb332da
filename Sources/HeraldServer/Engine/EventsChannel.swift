import HeraldCore

/// The texts of push-stream's events channel (§7), where apps watch channels and subscribers come and go.
enum EventsChannel {
    /// `{"type": …, "channel": …}`, and `"user": …` for a subscriber event of a known user.
    static func text(type: String, channel: String, user: String? = nil) -> [UInt8] {
        var out = Array(#"{"type": ""#.utf8)
        out += type.utf8
        out += #"", "channel": ""#.utf8
        JSONEscaping.append(channel, into: &out)
        if let user {
            out += #"", "user": ""#.utf8
            JSONEscaping.append(user, into: &out)
        }
        out += #""}"#.utf8
        return out
    }
}
