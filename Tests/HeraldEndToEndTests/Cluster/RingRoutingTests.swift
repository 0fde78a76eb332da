import Foundation
import HeraldTesting
import Testing

extension ClusterTests {
    /// nginx's `hash $herald_channel consistent` and `herald ring` name the same node for every
    /// path: dots, dashes, unicode, punctuation, `.bN` suffixes, several channels (the first
    /// decides). Nodes see no misrouted subscriber from nginx, and count one that bypasses it.
    @Test(.timeLimit(.minutes(2)))
    func nginxRoutesEverySubscriberToTheRingsOwner() async throws {
        try await LocalCluster.with(serveArguments: Self.serveArguments) { cluster in
            let nodes = cluster.nodes
            let paths = ChannelNames.paths(count: 2_100)
            let owners = try await cluster.ringOwners(of: paths.map(\.firstChannel), among: nodes)
            #expect(Set(owners.values) == Set(nodes.map(\.id)), "every node owns some channels")

            let probing = ContinuousClock.now
            let answers = try await RoutingProbe.route(paths, port: cluster.frontPort)
            let probed = ContinuousClock.now - probing
            #expect(answers.count == paths.count)
            let refused = answers.filter { $0.status != 200 && $0.status != 304 }
            #expect(
                refused.isEmpty, "\(refused.count) refused: \(refused.prefix(5).map { "\($0.request) → \($0.status)" })"
            )
            let wrong = answers.filter { $0.node == nil || $0.node != owners[$0.path.firstChannel] }
            let report = wrong.prefix(15).map {
                "\($0.request) \($0.path): nginx → \($0.node ?? "no X-Herald-Node"), "
                    + "ring → \(owners[$0.path.firstChannel]!)"
            }
            #expect(
                wrong.isEmpty,
                "\(wrong.count) of \(answers.count) paths routed off the ring:\n\(report.joined(separator: "\n"))")
            var perNode: [String: Int] = [:]
            for answer in answers { perNode[answer.node ?? "-", default: 0] += 1 }
            print(
                "routing: \(answers.count) paths through nginx in \(probed.ms) ms, per node "
                    + "\(perNode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }), "
                    + "\(wrong.count) off the ring"
            )

            for node in nodes {
                #expect(
                    try await cluster.misroutedSubscribers(node) == 0,
                    "\(node) after \(answers.count) routed subscribers")
            }
            // cluster/up's publisher takes its key only: through nginx and on a node directly.
            let body = Array("anonymous".utf8)
            let open = try await RawHTTPClient.request(port: cluster.frontPort, "POST", "/pub?id=x", body: body)
            #expect(open.status == 401, "\(open)")
            let direct = try await RawHTTPClient.request(port: nodes[0].port, "POST", "/pub?id=x", body: body)
            #expect(direct.status == 401, "\(direct)")
            let keyed = try await RawHTTPClient.request(
                port: cluster.frontPort, "POST", "/pub?id=x", headers: LocalCluster.publisherHeaders, body: body)
            #expect(keyed.status == 200, "\(keyed)")
            try await expectMisroutedCounted(cluster, owners: owners, paths: paths)
        }
    }

    /// A polling request and an EventSource sent straight to a node that does not own the channel
    /// each count once; one sent to the owner does not.
    private func expectMisroutedCounted(
        _ cluster: LocalCluster, owners: [String: String], paths: [RoutedPath]
    ) async throws {
        let nodes = cluster.nodes
        let owner = nodes[0]
        let other = nodes[1]
        let channel = try #require(paths.first { owners[$0.firstChannel] == owner.id && !$0.path.contains("/") })
        let poll = channel.requestPath(prefix: "lp")
        let before = try await cluster.misroutedSubscribers(other)
        let misrouted = try await RawHTTPClient.request(
            port: other.port, "GET", poll, headers: [("X-Nginx-PushStream-Mode", "polling")])
        #expect(misrouted.headers["X-Herald-Node"] == other.id)
        #expect(try await cluster.misroutedSubscribers(other) == before + 1)

        let events = try await HTTPStream.connect(port: other.port, channel.requestPath(prefix: "ev"))
        defer { events.close() }
        #expect(events.status == 200)
        #expect(events.head.headers["X-Herald-Node"] == other.id)
        #expect(try await cluster.misroutedSubscribers(other) == before + 2)

        let ownerBefore = try await cluster.misroutedSubscribers(owner)
        _ = try await RawHTTPClient.request(
            port: owner.port, "GET", poll, headers: [("X-Nginx-PushStream-Mode", "polling")])
        #expect(try await cluster.misroutedSubscribers(owner) == ownerBefore)
    }
}
