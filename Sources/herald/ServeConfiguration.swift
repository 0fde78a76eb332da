import ArgumentParser
import Foundation
import HeraldCore
import Yams

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `herald serve` takes its settings from: the command line, `HERALD_<OPTION>` environment
/// variables, and a YAML file (`--config herald.yaml`, or `HERALD_CONFIG`), in that order of
/// precedence, then the defaults. The three are merged into one command line before it is parsed
/// (``SettingsLayers``), so every value is checked by the same parser wherever it was written.
///
/// The option list is read off `ServeCommand` itself (its property wrappers), so a new option
/// gets its variable and its file key without being listed anywhere else.
struct ServeConfiguration {
    /// The merged arguments of `serve` (untouched for other subcommands).
    var arguments: [String]
    /// Where each option with a value got it.
    var sources: [String: SettingSource] = [:]
    /// The configuration file read, if any.
    var file: String?

    /// A configuration problem, printed as one line before the node starts.
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// Settings `serve` takes from its command line only (and `HERALD_CONFIG`): they say where the
    /// file is, or what to do with the settings.
    static let commandLineOnly: Set<String> = ["config", "print-config"]

    /// The long names of `ServeCommand`'s options and flags.
    static var serveOptions: [SettingOption] {
        Mirror(reflecting: ServeCommand()).children.compactMap { child in
            guard var label = child.label else { return nil }
            if label.hasPrefix("_") { label.removeFirst() }
            let type = String(describing: Swift.type(of: child.value))
            guard type.hasPrefix("Option<") || type.hasPrefix("Flag<") else { return nil }
            return SettingOption(long: SettingsNaming.kebab(fromCamel: label), isFlag: type.hasPrefix("Flag<"))
        }
    }

    init(_ arguments: [String], environment: [String: String]) throws {
        self.arguments = arguments
        guard arguments.first == "serve" else { return }
        let own = Array(arguments.dropFirst())
        file = Self.configPath(in: own) ?? environment["HERALD_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        var entries: [String: String] = [:]
        if let file {
            entries = try Self.read(file)
            if let key = entries.keys.sorted().first(where: Self.commandLineOnly.contains) {
                throw Problem(description: "\(file): \(key): can only be given on the command line")
            }
        }
        do {
            let merged = try SettingsLayers.merge(
                arguments: own, options: Self.serveOptions.filter { !Self.commandLineOnly.contains($0.long) },
                environment: environment, file: entries)
            self.arguments = ["serve"] + merged.arguments
            self.sources = merged.sources
        } catch {
            throw Problem(description: "\(file ?? "configuration file"): \(error)")
        }
    }

    /// `--config <path>` or `--config=<path>`.
    static func configPath(in arguments: [String]) -> String? {
        for (index, argument) in arguments.enumerated() {
            if argument == "--config", index + 1 < arguments.count { return arguments[index + 1] }
            if argument.hasPrefix("--config=") { return String(argument.dropFirst("--config=".count)) }
        }
        return nil
    }

    /// The file's settings as text: a YAML mapping of option names to single values.
    static func read(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem(description: "\(path): cannot be read")
        }
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw Problem(
                description: "\(path): not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        guard let loaded else { return [:] }  // an empty file
        guard let mapping = loaded as? [String: Any] else {
            throw Problem(description: "\(path): expected a mapping of setting names to values")
        }
        var entries: [String: String] = [:]
        for (key, value) in mapping {
            switch value {
            case let value as Bool: entries[key] = value ? "true" : "false"
            case let value as Int: entries[key] = String(value)
            case let value as Double: entries[key] = String(value)
            case let value as String: entries[key] = value
            case let list as [Any] where key == "allowed-origins":
                entries[key] = list.map { "\($0)" }.joined(separator: ",")
            default: throw Problem(description: "\(path): \(key): expected a single value")
            }
        }
        return entries
    }

    /// Where a parser error came from, when it is about an option the environment or the file set:
    /// the one line names the variable or the file key, not only the option.
    func describe(_ error: any Error) -> String? {
        let message = ServeCommand.message(for: error)
        for (option, source) in sources where source != .commandLine {
            guard message.contains("'--\(option)") || message.contains("--\(option) ") else { continue }
            switch source {
            case .environment:
                return "\(SettingsNaming.environmentName(forOption: option)): \(message)"
            case .file:
                return "\(file ?? "configuration file"): \(option): \(message)"
            case .commandLine, .defaultValue:
                return nil
            }
        }
        return nil
    }

    static var processEnvironment: [String: String] {
        var environment: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return environment
    }
}

extension ServeConfiguration {
    /// Options whose values `--print-config` does not show.
    static let secrets: Set<String> = ["auth-secret", "publisher-key", "admin-key"]

    /// Every setting of `serve`: its effective value and where it came from, one per line, for
    /// `herald serve --print-config`.
    func report() -> String {
        let defaults = Self.defaults()
        let options = Self.serveOptions.filter { !Self.commandLineOnly.contains($0.long) }
        let width = options.map(\.long.count).max() ?? 0
        var lines: [String] = []
        if let file { lines.append("# configuration file: \(file)") }
        for option in options {
            let source = sources[option.long] ?? .defaultValue
            var value =
                source == .defaultValue
                ? (defaults[option.long] ?? (option.isFlag ? "false" : "(none)"))
                : (Self.value(of: option, in: arguments) ?? "")
            if Self.secrets.contains(option.long), source != .defaultValue { value = "(set)" }
            if option.long == "redis" { value = Self.withoutPassword(value) }
            if option.long == "redis-cluster" {
                value = value.split(separator: ",").map { Self.withoutPassword(String($0)) }.joined(separator: ",")
            }
            let padding = String(repeating: " ", count: width - option.long.count)
            lines.append("\(option.long)\(padding)  \(Self.quoted(value))  # \(source.rawValue)")
        }
        return lines.joined(separator: "\n")
    }

    /// A Redis URL with its password (`redis://user:secret@host`) shown as `(set)`.
    static func withoutPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url.range(of: "@", range: scheme.upperBound..<url.endIndex)
        else { return url }
        let credentials = url[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.lastIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "(set)" + String(url[at.lowerBound...])
    }

    /// The value `arguments` give `option` (the last one wins, as in the parser).
    static func value(of option: SettingOption, in arguments: [String]) -> String? {
        var found: String?
        for (index, argument) in arguments.enumerated() {
            if option.isFlag {
                if argument == "--\(option.long)" { found = "true" }
                if argument == "--no-\(option.long)" { found = "false" }
            } else if argument.hasPrefix("--\(option.long)=") {
                found = String(argument.dropFirst(option.long.count + 3))
            } else if argument == "--\(option.long)", index + 1 < arguments.count {
                found = arguments[index + 1]
            }
        }
        return found
    }

    /// The defaults as the parser documents them (its help dump), by long name.
    static func defaults() -> [String: String] {
        guard let data = ServeCommand._dumpHelp().data(using: .utf8),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let command = root["command"] as? [String: Any],
            let arguments = command["arguments"] as? [[String: Any]]
        else { return [:] }
        var defaults: [String: String] = [:]
        for argument in arguments {
            guard let names = argument["names"] as? [[String: Any]],
                let long = names.first(where: { $0["kind"] as? String == "long" })?["name"] as? String,
                let value = argument["defaultValue"] as? String
            else { continue }
            // An inverted flag documents its default as the spelling that is on: `--no-x` or `--x`.
            let flagDefault = value.hasPrefix("--no-") ? "false" : value.hasPrefix("--") ? "true" : value
            defaults[long.hasPrefix("no-") ? String(long.dropFirst(3)) : long] = flagDefault
        }
        return defaults
    }

    /// A value as YAML would read it back: quoted when empty or when it has spaces or specials.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.allSatisfy { $0.isLetter || $0.isNumber || "-_./:*,@()".contains($0) }
        guard !plain else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}
