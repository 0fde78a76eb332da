import Foundation
import HeraldTesting
import Testing

/// Signed grants: with `--auth-secret`, nothing can be read from any channel on any transport
/// without a grant that covers it, now; a grant that expires mid-stream ends the subscription with
/// the -5 notice.
@Suite struct GrantTests {
    static let secret = "a-secret-of-at-least-thirty-two-bytes!"

    /// `herald token …`: the last line is the token.
    static func token(
        secret: String = secret, user: String? = nil, channels: [String] = [], prefixes: [String] = [],
        publish: [String] = [], ttl: String = "1h", notBefore: String? = nil
    ) async throws -> String {
        var arguments = ["token", "--secret", secret, "--ttl", ttl]
        if let user { arguments += ["--user", user] }
        for channel in channels { arguments += ["--channel", channel] }
        for prefix in prefixes { arguments += ["--prefix", prefix] }
        for channel in publish { arguments += ["--publish", channel] }
        if let notBefore { arguments += ["--not-before", notBefore] }
        let result = try await ShellCommand.run(try HeraldProcess.executableURL, arguments)
        guard result.status == 0, let last = result.stdout.split(separator: "\n").last else {
            throw HarnessError("herald token failed: \(result.output)")
        }
        return String(last)
    }

    static func node(_ extra: [String] = []) async throws -> HeraldProcess {
        try await HeraldProcess.start(["--auth-secret", secret, "--user-channel-prefix", "user:"] + extra)
    }

    /// The status and explain header of `GET path` on every answering and streaming transport.
    static func refusals(
        _ node: HeraldProcess, channel: String, query: String = "", headers: [(String, String)] = []
    ) async throws -> [String: String] {
        var seen: [String: String] = [:]
        for prefix in ["/ev", "/sub", "/lp"] {
            let stream = try await HTTPStream.connect(port: node.port, "\(prefix)/\(channel)\(query)", headers: headers)
            defer { stream.close() }
            seen[prefix] = "\(stream.status) \(stream.head.explain ?? "")"
        }
        let polled = try await node.get(
            "/lp/\(channel)\(query)", headers: headers + [("X-Nginx-PushStream-Mode", "polling")])
        seen["polling"] = "\(polled.status) \(polled.explain ?? "")"
        let socket = try await WebSocketTestClient.connect(
            port: node.port, "/ws/\(channel)\(query)", extraHeaders: headers)
        defer { socket.close() }
        let close = try await socket.readUntil { $0.isClose }
        seen["/ws"] = close.map { "\($0.closeCode ?? 0) \($0.closeReason)" } ?? "no close frame"
        return seen
    }

    static func refused(_ status: Int, _ explain: String) -> [String: String] {
        let http = "\(status) \(explain)"
        return [
            "/ev": http, "/sub": http, "/lp": http, "polling": http,
            "/ws": #"1008 {"http_status": \#(status), "explain":"\#(explain)"}"#,
        ]
    }

    @Test func withoutAGrantNothingIsReadOnAnyTransport() async throws {
        let node = try await Self.node()
        defer { node.stop() }
        try await node.publish("news", "secret")
        #expect(try await Self.refusals(node, channel: "news", query: "") == Self.refused(401, "A grant is required."))
        #expect(
            try await Self.refusals(node, channel: "news", query: "?token=")
                == Self.refused(401, "A grant is required."))
    }

    @Test func badGrantsAreRefusedWithTheirReason() async throws {
        let node = try await Self.node()
        defer { node.stop() }
        let other = try await Self.token(channels: ["other"])
        #expect(
            try await Self.refusals(node, channel: "news", query: "?token=\(other)")
                == Self.refused(403, "Channel is not in the grant."))
        let expired = try await Self.token(channels: ["news"], ttl: "0s")
        #expect(
            try await Self.refusals(node, channel: "news", query: "?token=\(expired)")
                == Self.refused(403, "Grant has expired."))
        let early = try await Self.token(channels: ["news"], notBefore: "1h")
        #expect(
            try await Self.refusals(node, channel: "news", query: "?token=\(early)")
                == Self.refused(403, "Grant is not valid yet."))
        let foreign = try await Self.token(secret: "another-secret-of-thirty-two-bytes-or-more", channels: ["news"])
        let good = try await Self.token(channels: ["news"])
        var parts = good.split(separator: ".").map(String.init)
        // The payload of another grant under this one's signature.
        parts[1] = String(other.split(separator: ".")[1])
        let tampered = parts.joined(separator: ".")
        for token in [foreign, tampered, "not-a-token"] {
            #expect(
                try await Self.refusals(node, channel: "news", query: "?token=\(token)")
                    == Self.refused(403, "Grant is not valid."), "\(token)")
        }
        // Refused before anything of the subscription: the channel was never created.
        #expect(try await node.admin("GET", "/pub?id=news").status == 404)
    }

    @Test func aGoodGrantReadsOnEveryTransportAndEveryWayOfCarryingIt() async throws {
        let node = try await Self.node(["--auth-cookie", "herald_grant"])
        defer { node.stop() }
        try await node.publish("news", "hello")
        let token = try await Self.token(channels: ["news"])
        let events = try await HTTPStream.connect(port: node.port, "/ev/news.b1?token=\(token)")
        defer { events.close() }
        #expect(events.status == 200)
        #expect(try await Received.events(events, count: 1, settle: .zero).map(\.message.text) == ["hello"])
        for headers in [[("Authorization", "Bearer \(token)")], [("Cookie", "a=b; herald_grant=\(token); c=d")]] {
            let polled = try await node.get("/lp/news.b1", headers: headers)
            #expect(polled.status == 200, "\(headers)")
            #expect(try PushMessage.decodeConcatenated(polled.body).map(\.text) == ["hello"])
        }
        let prefixed = try await Self.token(prefixes: ["ne"])
        #expect(try await node.get("/lp/news.b1?token=\(prefixed)").status == 200)
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/news.b1?token=\(token)")
        defer { socket.close() }
        #expect(try await Received.frames(socket, count: 1, settle: .zero).map(\.text) == ["hello"])
    }

    @Test func aUsersChannelIsReadableByThatUserAlone() async throws {
        let node = try await Self.node()
        defer { node.stop() }
        try await node.publish("user:42", "for 42 only")
        let mine = try await Self.token(user: "42")
        #expect(try await node.get("/lp/user:42.b1?token=\(mine)").status == 200)
        let theirs = try await Self.token(user: "43", channels: ["user:42"], prefixes: ["user:"])
        let refused = try await node.get("/lp/user:42.b1?token=\(theirs)")
        #expect(refused.status == 403)
        #expect(refused.explain == "Channel is not in the grant.")
        let anonymous = try await Self.token(prefixes: ["user:"])
        #expect(try await node.get("/lp/user:42.b1?token=\(anonymous)").status == 403)
    }

    @Test func aGrantExpiringMidStreamEndsEverySubscriptionWithTheNotice() async throws {
        let node = try await Self.node()
        defer { node.stop() }
        // Long enough for three connections and a publish on a loaded machine (CI starts some sixty
        // nodes at once on two cores), short enough to watch it end.
        let token = try await Self.token(channels: ["brief"], ttl: "6s")
        let events = try await HTTPStream.connect(port: node.port, "/ev/brief?token=\(token)")
        defer { events.close() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/brief?token=\(token)")
        defer { socket.close() }
        let port = node.port
        async let polled = RawHTTPClient.request(port: port, "GET", "/lp/brief?token=\(token)", timeout: .seconds(10))
        try #require(try await node.waitForSubscribers("brief", count: 3))
        try await node.publish("brief", "while valid")

        #expect(try await events.readEnd(timeout: .seconds(9)), "the stream outlived its grant")
        #expect(try Received.events(events).map(\.message.id) == [1, -5])
        #expect(try Received.events(events).last?.message.text == "Grant expired")
        let close = try await socket.readUntil(timeout: .seconds(9)) { $0.isClose }
        #expect(try Received.frames(socket).map(\.id) == [1, -5])
        #expect(close?.closeCode == 1008)
        #expect(close?.closeReason == #"{"http_status": 403, "explain":"Grant has expired."}"#)
        // The long-poll was answered by the publish; the next one, past expiry, is refused.
        #expect(try PushMessage.decodeConcatenated(try await polled.body).map(\.text) == ["while valid"])
        #expect(try await node.get("/lp/brief?token=\(token)").status == 403)
    }

    @Test func aWaitingLongPollGetsTheNoticeAtItsOwnPosition() async throws {
        let node = try await Self.node()
        defer { node.stop() }
        try await node.publish("wait", "first")
        // Long enough for two requests on a loaded machine: the second must be waiting when it ends.
        let token = try await Self.token(channels: ["wait"], ttl: "5s")
        let first = try await node.get("/lp/wait.b1?token=\(token)")
        let since = try #require(first.headers["Last-Modified"])
        let etag = try #require(first.headers["Etag"])
        let answer = try await node.get(
            "/lp/wait?token=\(token)", headers: [("If-Modified-Since", since), ("If-None-Match", etag)],
            timeout: .seconds(10))
        #expect(answer.status == 200)
        #expect(try PushMessage.decodeConcatenated(answer.body).map(\.id) == [-5])
        #expect(answer.headers["Last-Modified"] == since)
        #expect(answer.headers["Etag"] == etag)
    }

    /// `--websocket-allow-publish` with grants: a frame is published only to the channels the
    /// grant's `publish` claim names.
    @Test func webSocketPublishingNeedsThePublishClaim() async throws {
        let node = try await Self.node(["--websocket-allow-publish"])
        defer { node.stop() }
        let reader = try await Self.token(channels: ["talk", "quiet"])
        let writer = try await Self.token(channels: ["talk", "quiet"], publish: ["talk"])
        let listening = try await WebSocketTestClient.connect(port: node.port, "/ws/talk/quiet?token=\(reader)")
        defer { listening.close() }
        for (token, text) in [(reader, "from a reader"), (writer, "from a writer")] {
            let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/talk/quiet?token=\(token)")
            defer { socket.close() }
            try #require(try await node.waitForSubscribers("talk", count: 2))
            try await socket.sendAsync(0x1, payload: Array(text.utf8))
            try await Task.sleep(for: .milliseconds(300))
            socket.close()
            _ = try await node.waitForSubscribers("talk", count: 1)
        }
        let frames = try await Received.frames(listening, count: 1)
        #expect(frames.map(\.text) == ["from a writer"])
        #expect(frames.map(\.channel) == ["talk"])
    }

    @Test func aShortSecretStopsTheNodeAtStart() async throws {
        let result = try await ShellCommand.run(
            try HeraldProcess.executableURL, ["serve", "--port", "0", "--admin-port", "0", "--auth-secret", "short"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--auth-secret must be at least 32 bytes"), "\(result.output)")
    }
}
