import ArgumentParser
import Foundation
import HeraldCore

/// `herald ring`: which node owns each channel, exactly as nginx's `hash … consistent` routes it.
struct RingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ring",
        abstract: "Print the node that owns each channel on the consistent-hash ring nginx uses.",
        discussion: """
            Nodes are the upstream's `server` texts exactly as written in nginx.conf (e.g. 127.0.0.1:9001), \
            separated by commas; NAME=WEIGHT gives a weight (nginx's weight=). Prints `CHANNEL OWNER` per channel.

            Example:
              herald ring --nodes 10.0.0.1:9080,10.0.0.2:9080,10.0.0.3:9080 \\
                news sports user:42
            """
    )

    @Option(help: "The upstream's servers, comma-separated, in nginx.conf's spelling (NAME or NAME=WEIGHT).")
    var nodes: String
    @Argument(help: "Channels (a multi-channel path routes by its first channel).") var channels: [String]

    /// Parses `A,B=2,C` into ring nodes.
    static func parseNodes(_ text: String) throws -> [HashRing.Node] {
        let nodes = try text.split(separator: ",").map { item -> HashRing.Node in
            let parts = item.split(separator: "=", maxSplits: 1)
            let name = String(parts[0]).trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw ValidationError("Empty node name in --nodes.") }
            guard parts.count == 2 else { return HashRing.Node(name) }
            guard let weight = Int(parts[1]), weight > 0 else {
                throw ValidationError("Weight of \(name) must be a positive integer.")
            }
            return HashRing.Node(name, weight: weight)
        }
        guard !nodes.isEmpty else { throw ValidationError("--nodes names no node.") }
        return nodes
    }

    func run() throws {
        let ring = HashRing(nodes: try Self.parseNodes(nodes))
        for channel in channels {
            print("\(channel) \(ring.owner(of: channel)?.name ?? "-")")
        }
    }
}

/// `herald nginx-conf`: the nginx configuration in front of a cluster.
struct NginxConfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx-conf",
        abstract: "Print the nginx configuration that routes subscribers by channel to the nodes.",
        discussion: """
            Example:
              herald nginx-conf --nodes 10.0.0.1:9080,10.0.0.2:9080 --listen 80 \\
                --publish-allow 10.0.0.0/8 > /etc/nginx/conf.d/herald.conf
            """
    )

    @Option(help: "The nodes' public addresses, comma-separated, as they --advertise (NAME or NAME=WEIGHT).")
    var nodes: String
    @Option(help: "Where nginx listens.") var listen = "0.0.0.0:9080"
    @Option(help: "Addresses allowed to POST to /pub through nginx, comma-separated.") var publishAllow = "127.0.0.1"
    @Option(help: "Write a complete nginx.conf keeping pid, logs and temporary files in this folder.")
    var runtimeDirectory: String?
    @Option(help: "The site's own server (host:port): nginx sends it every path Herald does not serve.")
    var site: String?

    func run() throws {
        var config = NginxConfig(nodes: try RingCommand.parseNodes(nodes))
        config.listen = listen
        config.publishAllow = publishAllow.split(separator: ",").map { String($0) }
        config.runtimeDirectory = runtimeDirectory
        config.site = site.flatMap { $0.isEmpty ? nil : $0 }
        print(config.render(), terminator: "")
    }
}
