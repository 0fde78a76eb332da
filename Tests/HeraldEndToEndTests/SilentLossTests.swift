import Foundation
import HeraldTesting
import Testing

/// The fifth delivery invariant on the memory engine: a resume point older than the backlog, or
/// from an earlier incarnation of the channel, gets the id -4 notice before the stored messages,
/// whichever of the protocol's means names it.
@Suite struct SilentLossTests {
    /// A node keeping 10 messages per channel, where `trim` got 16: 7…16 are stored, and message 1
    /// (returned with its validators) is long gone.
    static func trimmedChannel() async throws -> (node: HeraldProcess, first: HTTPResponse) {
        let node = try await HeraldProcess.start(["--max-messages-stored-per-channel", "10"])
        do {
            try await node.publish("trim", "m1", eventID: "evt-1")
            let first = try await node.get("/lp/trim.b1")
            try #require(first.status == 200)
            try await node.publishAll("trim", (2...16).map { "m\($0)" })
            return (node, first)
        } catch {
            node.stop()
            throw error
        }
    }

    static let stored = Array(7...16)

    /// push-stream's own long-poll loop: `If-Modified-Since` + `If-None-Match` from the last answer.
    @Test func longPollResumeByTimeAndTagReportsWhatLeftTheBacklog() async throws {
        let (node, first) = try await Self.trimmedChannel()
        defer { node.stop() }
        let since = try #require(first.headers["Last-Modified"])
        let etag = try #require(first.headers["Etag"])
        let polled = try await node.get(
            "/lp/trim", headers: [("If-Modified-Since", since), ("If-None-Match", etag)])
        let ids = try PushMessage.decodeConcatenated(polled.body).map(\.id)
        #expect(ids == [-4] + Self.stored, "\(polled)")
    }

    /// The same point given as the `time` and `tag` arguments (the JSONP and `qs` form).
    @Test func timeAndTagArgumentsReportWhatLeftTheBacklog() async throws {
        let (node, first) = try await Self.trimmedChannel()
        defer { node.stop() }
        let message = try #require(try PushMessage.decodeConcatenated(first.body).first)
        let path = "/jsonp/trim?time=\(Query.encode(message.time))&tag=\(message.tag)&callback=cb"
        let (_, messages) = try PushMessage.decodeJSONP(try await node.get(path).text)
        #expect(messages.map(\.id) == [-4] + Self.stored)
    }

    /// A publisher's event id the backlog no longer holds cannot be placed: the notice, then
    /// everything stored, rather than nothing at all.
    @Test func anEventIDNoLongerStoredIsReported() async throws {
        let (node, _) = try await Self.trimmedChannel()
        defer { node.stop() }
        let polled = try await node.get("/lp/trim", headers: [("Last-Event-ID", "evt-1")])
        #expect(try PushMessage.decodeConcatenated(polled.body).map(\.id) == [-4] + Self.stored)
    }

    /// Asking for more stored messages than are left, when more were published.
    @Test func aBacktrackPastTheBacklogIsReported() async throws {
        let (node, _) = try await Self.trimmedChannel()
        defer { node.stop() }
        let polled = try await node.get("/lp/trim.b12")
        #expect(try PushMessage.decodeConcatenated(polled.body).map(\.id) == [-4] + Self.stored)
        let within = try await node.get("/lp/trim.b3")
        #expect(try PushMessage.decodeConcatenated(within.body).map(\.id) == [14, 15, 16])
    }

    /// The channel was deleted and published to again: a cursor of the old incarnation must not
    /// be read against the new ids (7 new ones passed the old cursor's 5).
    @Test func aCursorFromADeletedChannelIsReportedAndTheNewIDsStartAtOne() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let first = try await HTTPStream.connect(port: node.port, "/ev/again")
        try #require(try await node.waitForSubscribers("again", count: 1))
        try await node.publishAll("again", (1...5).map { "old\($0)" })
        let cursor = try #require(try await Received.events(first, count: 5, settle: .zero).last?.id)
        first.close()

        #expect(try await node.admin("DELETE", "/pub?id=again").status == 200)
        try await node.publishAll("again", (1...7).map { "new\($0)" })
        let second = try await HTTPStream.connect(
            port: node.port, "/ev/again", headers: [("Last-Event-ID", cursor)])
        defer { second.close() }
        let received = try await Received.events(second, count: 8)
        #expect(received.map(\.message.text) == ["Messages missed"] + (1...7).map { "new\($0)" }, "\(received)")

        let polled = try await node.get(
            "/lp/again", headers: [("X-Nginx-PushStream-Mode", "polling"), ("If-None-Match", cursor)])
        #expect(try PushMessage.decodeConcatenated(polled.body).map(\.id) == [-4] + Array(1...7))
    }
}
