import ArgumentParser
import HeraldCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every `herald serve` option also reads an environment variable: `--admin-port` ↔
/// `HERALD_ADMIN_PORT`. The command line wins; a variable fills in an option left off it.
///
/// The option list is read off `ServeCommand` itself (its property wrappers), so a new option
/// gets its variable without being listed anywhere else.
enum EnvironmentDefaults {
    struct OptionName: Equatable {
        let long: String
        let isFlag: Bool
    }

    /// The long names of `ServeCommand`'s options and flags.
    static var serveOptions: [OptionName] {
        Mirror(reflecting: ServeCommand()).children.compactMap { child in
            guard var label = child.label else { return nil }
            if label.hasPrefix("_") { label.removeFirst() }
            let type = String(describing: Swift.type(of: child.value))
            guard type.hasPrefix("Option<") || type.hasPrefix("Flag<") else { return nil }
            return OptionName(long: SettingsNaming.kebab(fromCamel: label), isFlag: type.hasPrefix("Flag<"))
        }
    }

    /// `arguments` with `--option value` appended for each variable whose option is not given.
    /// Applies to `serve` only; other subcommands are returned untouched.
    static func arguments(_ arguments: [String], environment: [String: String]) -> [String] {
        guard arguments.first == "serve" else { return arguments }
        var result = arguments
        for option in serveOptions {
            let given = arguments.contains { argument in
                argument == "--\(option.long)" || argument.hasPrefix("--\(option.long)=")
                    || argument == "--no-\(option.long)"
            }
            guard !given, let value = environment[SettingsNaming.environmentName(forOption: option.long)] else {
                continue
            }
            if option.isFlag {
                switch value.lowercased() {
                case "1", "true", "yes", "on": result.append("--\(option.long)")
                case "0", "false", "no", "off": result.append("--no-\(option.long)")
                default: result.append("--\(option.long)=\(value)")  // let the parser report it
                }
            } else {
                result.append("--\(option.long)=\(value)")
            }
        }
        return result
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
