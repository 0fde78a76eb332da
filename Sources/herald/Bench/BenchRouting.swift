import ArgumentParser
import HeraldCore

/// Where each channel's subscribers connect: one URL, or, with a ring, the node that owns the channel
/// on the consistent-hash ring nginx routes by (`{node}` in the URL template), as nginx in front of a
/// cluster would send them.
struct BenchRouting: Sendable {
    /// One URL, or one per ring node in the ring's order.
    let urls: [BenchURL]
    /// Per channel, its index in `urls`; empty when there is one URL.
    private let owners: [Int]

    init(template: String, ringNodes: String?, channels: [String]) throws {
        guard let ringNodes else {
            guard !template.contains("{node}") else {
                throw ValidationError("The subscribe URL names {node}: give the nodes with --ring-nodes.")
            }
            urls = [try BenchURL(template)]
            owners = []
            return
        }
        guard template.contains("{node}") else {
            throw ValidationError(
                "With --ring-nodes the subscribe URL must name {node}, e.g. http://{node}/ev/{channel}.")
        }
        let ring = HashRing(nodes: try RingCommand.parseNodes(ringNodes))
        urls = try ring.nodes.map { try BenchURL(template, node: $0.name) }
        let index = Dictionary(ring.nodes.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        owners = channels.map { channel in ring.owner(of: channel).flatMap { index[$0.name] } ?? 0 }
    }

    func url(channel: Int) -> BenchURL { owners.isEmpty ? urls[0] : urls[owners[channel]] }

    /// How many of `subscribers` (subscriber i joins channel i mod `channels`) each URL gets.
    func split(subscribers: Int, channels: Int) -> [Int] {
        guard !owners.isEmpty else { return [subscribers] }
        var counts = [Int](repeating: 0, count: urls.count)
        for channel in 0..<channels {
            counts[owners[channel]] += subscribers / channels + (channel < subscribers % channels ? 1 : 0)
        }
        return counts
    }
}
