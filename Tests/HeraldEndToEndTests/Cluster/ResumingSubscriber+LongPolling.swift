import Foundation
import HeraldTesting

extension ResumingSubscriber {
    /// Long-polls on one keep-alive connection through nginx, each request carrying the
    /// `Last-Modified`/`Etag` of the last answer as `If-Modified-Since`/`If-None-Match` — of a 304
    /// too, as push-stream's JavaScript client does (its `afterReceive`). Returns when the
    /// connection is lost; ``run()`` opens another.
    func longPoll() throws {
        let client = try RawHTTPClient(port: port, timeout: .seconds(10))
        defer { client.close() }
        while !shouldStop() {
            let requested = ContinuousClock.now
            try client.send("GET", basePath, headers: pollHeaders)
            announce()
            // Wait in slices: a poller that already has everything must not sit out a long-poll.
            while !client.connection.ensure(1, deadline: .after(readSlice)) {
                if client.connection.isClosed { return fail("\(basePath): connection closed while waiting") }
                if shouldStop() { return }
            }
            let response = try client.readResponse()
            var connection = ConnectionRecord(
                node: response.headers["X-Herald-Node"], requested: requested, opened: .now)
            switch response.status {
            case 200, 304:
                for message in try PushMessage.decodeConcatenated(response.body) { record(message, in: &connection) }
                guard let since = response.headers["Last-Modified"], let etag = response.headers["Etag"] else {
                    throw HarnessError("long-poll answer without Last-Modified/Etag: \(response)")
                }
                pollHeaders = [("If-Modified-Since", since), ("If-None-Match", etag)]
            default:
                fail("\(basePath): \(response.status) \(response.explain ?? "") from \(node(response.head))")
                closed(connection, .endOfStream)
                return
            }
            closed(connection, .endOfStream)
            if response.headers["Connection"]?.lowercased() == "close" { return }
        }
    }
}
