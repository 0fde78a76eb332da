import ArgumentParser

/// `herald`: the push server and its tools.
@main
struct HeraldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "A horizontally sharded HTTP push server, compatible with nginx-push-stream-module.",
        subcommands: [
            ServeCommand.self, PublishCommand.self, BenchCommand.self, RingCommand.self, NginxConfCommand.self,
            RedisScriptsCommand.self, TokenCommand.self,
        ]
    )

    /// Options left off the command line are read from `HERALD_<OPTION>` environment variables.
    static func main() async {
        let arguments = EnvironmentDefaults.arguments(
            Array(CommandLine.arguments.dropFirst()), environment: EnvironmentDefaults.processEnvironment)
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
