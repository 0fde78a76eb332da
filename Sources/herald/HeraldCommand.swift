import ArgumentParser
import Foundation

/// `herald`: the push server and its tools.
@main
struct HeraldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "A horizontally sharded HTTP push server, compatible with nginx-push-stream-module.",
        subcommands: [
            ServeCommand.self, PublishCommand.self, BenchCommand.self, RingCommand.self, NginxConfCommand.self,
            RedisScriptsCommand.self, TokenCommand.self, StatsCommand.self, ClusterCommand.self, PresenceCommand.self,
            VersionCommand.self,
        ]
    )

    /// Options left off the command line are read from `HERALD_<OPTION>` environment variables,
    /// then from the configuration file (`serve --config`).
    static func main() async {
        let configuration: ServeConfiguration
        do {
            configuration = try ServeConfiguration(
                Array(CommandLine.arguments.dropFirst()), environment: ServeConfiguration.processEnvironment)
        } catch {
            failAtStart("\(error)")
        }
        do {
            var command = try parseAsRoot(configuration.arguments)
            if let serve = command as? ServeCommand, serve.printConfig {
                print(configuration.report())
                return
            }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if let line = configuration.describe(error) { failAtStart(line) }
            exit(withError: error)
        }
    }

    /// One line on standard error, and the exit status of a usage error.
    static func failAtStart(_ line: String) -> Never {
        FileHandle.standardError.write(Data("herald: \(line)\n".utf8))
        Foundation.exit(64)
    }
}
