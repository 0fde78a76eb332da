import ArgumentParser
import HeraldCore
import HeraldPublisher
import HeraldServer

/// `herald token`: prints a grant signed with the nodes' `--auth-secret`, for trying a protected
/// node from a shell or a test; a site mints its own with any JWT library (docs/SECURITY.md).
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a signed subscriber grant (HS256). The last line of the output is the token.",
        discussion: """
            Example:
              herald token --secret "$HERALD_AUTH_SECRET" --user 42 --channel news \\
                --prefix 'room:*' --ttl 1h
            """)

    @Option(help: "The secret the nodes verify with (their --auth-secret, at least 32 bytes).") var secret: String
    @Option(help: "The user the grant is for (its sub claim).") var user: String?
    @Option(name: .customLong("channel"), help: "A channel the grant allows (repeatable).")
    var channels: [String] = []
    @Option(name: .customLong("prefix"), help: "A channel prefix the grant allows (repeatable).")
    var prefixes: [String] = []
    @Option(name: .customLong("publish"), help: "A channel (or prefix ending in *) it may publish to over WebSocket.")
    var publish: [String] = []
    @Option(help: "How long the grant lasts (0s: expired at once).") var ttl = TimeSpan.seconds(3_600)
    @Option(help: "The grant starts this long from now (default: at once).") var notBefore: TimeSpan?

    func validate() throws {
        if secret.utf8.count < GrantKey.minimumSecretLength {
            throw ValidationError("--secret must be at least \(GrantKey.minimumSecretLength) bytes.")
        }
    }

    func run() async throws {
        let now = UnixClock.now()
        let grant = Grant(
            user: user, channels: Set(channels), channelPrefixes: prefixes, expires: now + ttl.seconds,
            notBefore: notBefore.map { now + $0.seconds }, publish: publish)
        let token = try await GrantSigner.sign(grant, secret: Array(secret.utf8))
        print("grant for \(user ?? "no user"): channels \(channels), prefixes \(prefixes), expires \(grant.expires!)")
        print(token)
    }
}
