/// Maps settings property names to command-line option and environment variable names,
/// so one list of settings drives all three spellings.
public enum SettingsNaming {
    /// `maxMessageSize` → `max-message-size`; acronym runs stay together (`maxChannelIDLength` →
    /// `max-channel-id-length`, `HTTPPort` → `http-port`).
    public static func kebab(fromCamel camel: String) -> String {
        let characters = Array(camel)
        var out = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                // A word starts at an upper-case letter after a lower-case one or a digit, or at the last
                // capital of an acronym run when a lower-case letter follows (`IDLength` → `id-length`).
                let startsWord =
                    previous.isLowercase || previous.isNumber
                    || (previous.isUppercase && next?.isLowercase == true)
                if startsWord && !out.hasSuffix("-") { out.append("-") }
            }
            out.append(contentsOf: character.lowercased())
        }
        return out
    }

    /// `max-message-size` → `HERALD_MAX_MESSAGE_SIZE`.
    public static func environmentName(forOption kebab: String) -> String {
        "HERALD_" + String(kebab.uppercased().map { $0 == "-" ? "_" : $0 })
    }
}
