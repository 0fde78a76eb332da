/// Where a setting's value came from, in order of precedence.
public enum SettingSource: String, Sendable, Hashable {
    case commandLine = "command line"
    case environment
    case file
    case defaultValue = "default"
}

/// One option of a command, by its long name (`max-message-size`).
public struct SettingOption: Sendable, Hashable {
    public let long: String
    /// A flag takes no value: `--store-messages` / `--no-store-messages`.
    public let isFlag: Bool

    public init(long: String, isFlag: Bool) {
        self.long = long
        self.isFlag = isFlag
    }
}

/// A configuration file entry that cannot be used, with the one line that says why.
public struct SettingsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let key: String
    public let problem: String

    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { "\(key): \(problem)" }
}

/// Merges the three places a setting can come from into one command line, in precedence
/// order: the command line, then an environment variable (`HERALD_MAX_MESSAGE_SIZE`), then the
/// configuration file (`max-message-size: 64k`), then the option's default. The merged line is
/// parsed once, by the same parser, so a value is checked the same way wherever it was written.
public enum SettingsLayers {
    /// The words that mean a flag is on or off, in the environment and the file.
    public static func flagValue(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes", "on": true
        case "0", "false", "no", "off": false
        default: nil
        }
    }

    /// - Parameters:
    ///   - arguments: The command's own arguments (after the subcommand name).
    ///   - options: Every option the command has.
    ///   - environment: The process environment.
    ///   - file: The configuration file's entries, keyed by option long name, values as text.
    /// - Returns: The merged arguments, and where each option that has a value got it.
    /// - Throws: ``SettingsFileError`` for a file key that names no option, or a flag whose value
    ///   is not one of ``flagValue(_:)``'s words.
    public static func merge(
        arguments: [String], options: [SettingOption], environment: [String: String], file: [String: String]
    ) throws(SettingsFileError) -> (arguments: [String], sources: [String: SettingSource]) {
        let known = Set(options.map(\.long))
        if let unknown = file.keys.sorted().first(where: { !known.contains($0) }) {
            throw SettingsFileError(key: unknown, problem: "no such setting" + suggestion(for: unknown, in: known))
        }
        var result = arguments
        var sources: [String: SettingSource] = [:]
        for option in options {
            if given(option, in: arguments) {
                sources[option.long] = .commandLine
                continue
            }
            let variable = environment[SettingsNaming.environmentName(forOption: option.long)]
            guard
                let (value, source) = variable.map({ ($0, SettingSource.environment) })
                    ?? file[option.long].map({
                        ($0, SettingSource.file)
                    })
            else { continue }
            sources[option.long] = source
            guard option.isFlag else {
                result.append("--\(option.long)=\(value)")
                continue
            }
            switch flagValue(value) {
            case true?: result.append("--\(option.long)")
            case false?: result.append("--no-\(option.long)")
            case nil:
                if source == .file {
                    throw SettingsFileError(key: option.long, problem: "'\(value)' is not true or false")
                }
                result.append("--\(option.long)=\(value)")  // the parser reports it, naming the variable's option
            }
        }
        return (result, sources)
    }

    /// Whether `arguments` set `option` (`--x`, `--x=v`, `--no-x`).
    static func given(_ option: SettingOption, in arguments: [String]) -> Bool {
        arguments.contains { argument in
            argument == "--\(option.long)" || argument.hasPrefix("--\(option.long)=")
                || argument == "--no-\(option.long)"
        }
    }

    /// ` (did you mean 'x'?)` for the known name closest to `key`, when one is close.
    static func suggestion(for key: String, in known: Set<String>) -> String {
        let normalized = key.lowercased().replacingUnderscores()
        if known.contains(normalized) { return " (did you mean '\(normalized)'?)" }
        let scored = known.map { ($0, editDistance(Array(normalized), Array($0))) }
        guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }), best.1 <= 3 else {
            return ""
        }
        return " (did you mean '\(best.0)'?)"
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}
