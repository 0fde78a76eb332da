import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import HeraldTesting
#endif

/// What an anonymous client on the internet can send a node: none of it may crash the node, stall
/// other connections, or hold a connection past its deadline.
@Suite(.timeLimit(.minutes(1)))
struct EdgeHardeningTests {
    /// A multi-channel channel-info request whose client leaves before Redis answers: the answer
    /// arrives for a connection that is gone, and must be dropped, not crash the node.
    @Test(
        .enabled(if: RedisServerProcess.isAvailable, "needs redis-server"),
        arguments: ["/pub?id=a/b", "/channels-stats?id=a/b", "/pub?id=a"])
    func answerForAGoneClientIsDropped(path: String) async throws {
        let bed = try await RedisTestbed.start(nodes: 1, arguments: ["--public-publisher"])
        defer { bed.stop() }
        let node = bed.a
        #expect(try await node.publish("a", "1").status == 200)
        #expect(try await node.publish("b", "1").status == 200)
        let redisPID = bed.redis.pid
        let adminPort = node.adminPort
        try await Blocking.run {
            // Redis holds every answer while it is stopped; the client asks, then leaves.
            kill(redisPID, SIGSTOP)
            defer { kill(redisPID, SIGCONT) }
            for _ in 0..<4 {
                let client = try RawHTTPClient(port: adminPort)
                try client.socket.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
                usleep(20_000)
                client.socket.abort()
            }
            usleep(100_000)
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(node.isRunning, "\(node.output)")
        #expect(try await node.publish("a", "2").status == 200)
    }

    /// The largest subscribe request nginx's default header limits let through — thousands of
    /// channels in the path and a cursor naming thousands more — is refused at once; the node's
    /// other connections do not wait for it.
    @Test func maximalChannelAndCursorRequestIsRefusedCheaply() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let path = "/ev/" + (0..<5_500).map { "c\($0)" }.joined(separator: "/")
        let cursor = "hc:" + (0..<4_500).map { "k\($0):1" }.joined(separator: ",")
        let port = node.port
        let started = ContinuousClock.now
        async let refused = Blocking.run { () -> [Int?] in
            (0..<2).map { _ in
                guard let client = try? RawHTTPClient(port: port, timeout: .seconds(40)) else { return nil }
                defer { client.close() }
                try? client.send("GET", path, headers: [("Last-Event-ID", cursor)])
                return (try? client.readResponse())?.status
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let health = try await node.admin("GET", "/healthz")
        let healthTook = ContinuousClock.now - started
        #expect(health.status == 200)
        #expect(healthTook < .seconds(3), "healthz waited \(healthTook)")
        #expect(try await refused == [400, 400])
    }

    /// A body sent one byte at a time cannot keep a connection past the request deadline.
    @Test func trickledBodyIsCutAtTheRequestDeadline() async throws {
        let node = try await HeraldProcess.start(["--request-timeout", "1s"])
        defer { node.stop() }
        let adminPort = node.adminPort
        let started = ContinuousClock.now
        let closed = try await Blocking.run { () -> Bool in
            let client = try RawHTTPClient(port: adminPort)
            defer { client.close() }
            try client.socket.send("POST /pub?id=slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            var closed = false
            for _ in 0..<30 {
                if (try? client.socket.send("x")) == nil { break }
                if client.waitForClose(within: .milliseconds(200)) {
                    closed = true
                    break
                }
            }
            return closed
        }
        let elapsed = ContinuousClock.now - started
        #expect(closed)
        #expect(elapsed < .seconds(4), "the connection lasted \(elapsed)")
        #expect(try await node.publish("after", "alive").status == 200)
    }

    /// A JSONP callback is a JavaScript name: anything else is refused, and no answer may be
    /// sniffed into another content type.
    @Test func jsonpCallbackMustBeAnIdentifier() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        #expect(try await node.publish("news", "hello").status == 200)
        let good = try await node.get("/jsonp/news.b1?callback=PushStream.cb_1")
        #expect(good.status == 200)
        #expect(good.text.hasPrefix("PushStream.cb_1(["), "\(good.text)")
        #expect(good.headers["X-Content-Type-Options"] == "nosniff")
        for bad in [
            "alert(1)//", "x%0D%0ASet-Cookie:%20a=b", "%3Cscript%3E", "a b", String(repeating: "a", count: 300),
        ] {
            let answer = try await node.get("/jsonp/news.b1?callback=\(bad)")
            #expect(answer.status == 400, "callback \(bad) → \(answer.status) \(answer.text)")
            #expect(!answer.text.contains("script"))
        }
        #expect(try await node.stats().headers["X-Content-Type-Options"] == "nosniff")
    }

    /// The default streaming page is HTML with a `<script>` per message: no message text, channel
    /// or event id can close that script or open another.
    @Test func streamingPageIsSafeWithAnyText() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let hostile = "</script><script>alert(1)</script>'\"\\\u{2028}<!--"
        let stream = try await HTTPStream.connect(port: node.port, "/sub/page")
        defer { stream.close() }
        try #require(try await node.waitForSubscribers("page", count: 1))
        #expect(try await node.publish("page", hostile, eventID: "</script><b>").status == 200)
        #expect(try await stream.readUntil(contains: "p(1,"))
        let body = stream.text
        // From the message's call to the end of the page: one script, closed once, nothing raw inside.
        let script = try #require(body.range(of: "<script>p(1,").map { String(body[$0.upperBound...]) })
        let call = try #require(script.range(of: "</script>").map { String(script[..<$0.lowerBound]) })
        #expect(!call.contains("<"), "\(call)")
        #expect(!call.contains("\u{2028}"))
        #expect(!script.contains("<script>"), "\(script)")
    }
}
