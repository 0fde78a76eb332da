import Foundation
import HeraldTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension ClusterTests {
    /// A long-poll waiting on a node that is told to stop is let go with a 304. push-stream's
    /// JavaScript client takes that answer's `Last-Modified` and `Etag` as its next resume point
    /// (its `afterReceive` reads them off every answer), so they must name where the client is:
    /// after the messages it already has. Resuming from them on the next node must give exactly
    /// what came after, nothing twice.
    @Test(.timeLimit(.minutes(1)))
    func aStoppingNodesLongPollLetsGoWithTheClientsOwnResumePoint() async throws {
        try await LocalCluster.with(serveArguments: Self.serveArguments) { cluster in
            let nodes = cluster.nodes
            let victim = nodes[1]
            let owners = try await cluster.ringOwners(of: TrafficPlans.candidates(40, prefix: "drain"), among: nodes)
            let channel = try #require(owners.keys.sorted().first { owners[$0] == victim.id })
            let front = cluster.frontPort

            // Early in a second: three messages, and a long-poll that gets them.
            try await WallClock.sleepUntilTheNextSecond()
            for text in ["m1", "m2", "m3"] { try await Self.publish(text, to: channel, front: front) }
            let first = try await RawHTTPClient.request(port: front, "GET", "/lp/\(channel).b3")
            #expect(try PushMessage.decodeConcatenated(first.body).map(\.text) == ["m1", "m2", "m3"])
            #expect(first.headers["X-Herald-Node"] == victim.id)
            let since = try #require(first.headers["Last-Modified"])
            let etag = try #require(first.headers["Etag"])

            // The next long-poll waits on the owner, which is then told to stop.
            async let waiting = RawHTTPClient.request(
                port: front, "GET", "/lp/\(channel)", headers: [("If-Modified-Since", since), ("If-None-Match", etag)],
                timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(150))
            kill(victim.pid, SIGTERM)
            let drained = try await waiting
            #expect(drained.status == 304)
            #expect(drained.headers["X-Herald-Node"] == victim.id)
            let drainedSince = try #require(drained.headers["Last-Modified"])
            let drainedEtag = try #require(drained.headers["Etag"])

            // What the JavaScript client sends next, to whichever node nginx picks now.
            try await Self.publish("m4", to: channel, front: front)
            let next = try await RawHTTPClient.request(
                port: front, "GET", "/lp/\(channel)",
                headers: [("If-Modified-Since", drainedSince), ("If-None-Match", drainedEtag)])
            let texts = try PushMessage.decodeConcatenated(next.body).map(\.text)
            #expect(
                texts == ["m4"],
                """
                after m1–m3 (Last-Modified \(since), Etag \(etag)) the stopping node's 304 said \
                Last-Modified \(drainedSince), Etag \(drainedEtag); resuming from it on \
                \(next.headers["X-Herald-Node"] ?? "?") gave \(texts)
                """)
            #expect(await ChildReaper.shared.waitForExit(victim.pid, timeout: .seconds(15)) == .status(0))
        }
    }

    /// `POST /pub?id=<channel>` through nginx, again after a 502 (nginx sent it on a keep-alive
    /// connection the stopping node had just closed); 200 or the test fails.
    static func publish(_ text: String, to channel: String, front: UInt16) async throws {
        for _ in 0..<5 {
            let response = try await RawHTTPClient.request(
                port: front, "POST", "/pub?id=\(channel)", headers: LocalCluster.publisherHeaders,
                body: Array(text.utf8))
            if response.status == 200 { return }
            guard response.status == 502 else { throw HarnessError("publishing \(text) answered \(response)") }
        }
        throw HarnessError("publishing \(text) answered 502 five times")
    }
}
