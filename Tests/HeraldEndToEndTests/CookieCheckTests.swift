import Foundation
import HeraldTesting
import Testing

/// The app's cookie check (`--auth-url`), against a real site with a session table
/// (`Tests/apps/session_app.py`): the app decides who may read, sees what Herald asked, and
/// counts the checks, so the cache, the one-at-a-time rule and the timeout are visible there.
/// One at a time: each test starts a site and a node, and the end-to-end group starts many
/// processes at once already.
@Suite(.serialized) struct CookieCheckTests {
    static func node(_ app: SessionApp, _ extra: [String] = []) async throws -> HeraldProcess {
        try await HeraldProcess.start(["--auth-url", app.checkURL, "--user-channel-prefix", "user:"] + extra)
    }

    @Test func withoutASessionNothingIsReadOnAnyTransport() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let node = try await Self.node(app)
        defer { node.stop() }
        try await node.publish("news", "secret")
        let refused = GrantTests.refused(401, "Authorization check refused.")
        #expect(try await GrantTests.refusals(node, channel: "news") == refused)
        #expect(try await GrantTests.refusals(node, channel: "news", headers: [("Cookie", "sid=made-up")]) == refused)
        // Refused before anything of the subscription: the channel the publish created is all there is.
        #expect(try await node.admin("GET", "/pub?id=other").status == 404)
        #expect(try await GrantTests.refusals(node, channel: "other") == refused)
        #expect(try await node.admin("GET", "/pub?id=other").status == 404)
    }

    @Test func aSessionReadsOnEveryTransportAndTheAppSeesWhatWasAsked() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let node = try await Self.node(app)
        defer { node.stop() }
        try await node.publish("news", "hello")
        let sid = try await app.login("42")
        let cookie = [("Cookie", "theme=dark; sid=\(sid)")]
        let events = try await HTTPStream.connect(port: node.port, "/ev/news.b1", headers: cookie)
        defer { events.close() }
        #expect(events.status == 200)
        #expect(try await Received.events(events, count: 1, settle: .zero).map(\.message.text) == ["hello"])
        let asked = try #require(try await app.stats()["last"] as? [String: String])
        #expect(asked["cookie"] == "theme=dark; sid=\(sid)")
        #expect(asked["x-herald-channels"] == "news")
        #expect(asked["x-herald-mode"] == "eventsource")
        #expect(asked["x-original-uri"] == "/ev/news.b1")
        #expect(asked["x-forwarded-for"] == "127.0.0.1")

        let polled = try await node.get("/lp/news.b1", headers: cookie)
        #expect(polled.status == 200)
        #expect(try PushMessage.decodeConcatenated(polled.body).map(\.text) == ["hello"])
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/news.b1", extraHeaders: cookie)
        defer { socket.close() }
        #expect(try await Received.frames(socket, count: 1, settle: .zero).map(\.text) == ["hello"])
        let streamed = try await HTTPStream.connect(port: node.port, "/sub/news.b1", headers: cookie)
        defer { streamed.close() }
        #expect(streamed.status == 200)
    }

    /// The user the app names owns `user:<id>`; the channels it lists are all the user may read.
    @Test func theAppNamesTheUserAndNarrowsTheChannels() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let node = try await Self.node(app, ["--auth-cache-ttl", "0s"])
        defer { node.stop() }
        try await node.publish("user:42", "for 42")
        let cookie42 = [("Cookie", "sid=\(try await app.login("42"))")]
        let cookie43 = [("Cookie", "sid=\(try await app.login("43"))")]
        #expect(try await node.get("/lp/user:42.b1", headers: cookie42).status == 200)
        let theirs = try await node.get("/lp/user:42.b1", headers: cookie43)
        #expect(theirs.status == 403)
        #expect(theirs.explain == "Channel is not in the grant.")

        try await app.behave(channels: "room%3Aa,lobby*")
        try await node.publish("room:a", "a")
        try await node.publish("lobby:main", "lobby")
        try await node.publish("room:b", "b")
        #expect(try await node.get("/lp/room:a.b1", headers: cookie43).status == 200)
        #expect(try await node.get("/lp/lobby:main.b1", headers: cookie43).status == 200)
        #expect(try await node.get("/lp/room:b.b1", headers: cookie43).status == 403)
        #expect(try await node.get("/lp/room:a.b1/room:b.b1", headers: cookie43).status == 403)
        // The user's own channel needs no listing.
        let own = try await node.get("/lp/user:43", headers: cookie43 + [("X-Nginx-PushStream-Mode", "polling")])
        #expect(own.status == 304)
    }

    /// A page opening many subscriptions with one session costs the app one check, then the
    /// cache answers until its time is up; a logout is seen once the cached answer has expired.
    @Test func answersAreCachedPerSessionAndChannelsAndAskedOneAtATime() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let node = try await Self.node(app, ["--auth-cache-ttl", "2s"])
        defer { node.stop() }
        let sid = try await app.login("42")
        try await app.behave(delay: 0.3)
        let port = node.port
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    try await RawHTTPClient.request(
                        port: port, "GET", "/lp/news",
                        headers: [("Cookie", "sid=\(sid)"), ("X-Nginx-PushStream-Mode", "polling")]
                    ).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers == Array(repeating: 304, count: 12))
        #expect(try await app.checks() == 1)
        #expect(JSON.int(try await app.stats()["max_in_flight_per_session"]) == 1)

        // Other channels are another question; the same channels in another order are not.
        try await app.behave()
        let cookie = [("Cookie", "sid=\(sid)"), ("X-Nginx-PushStream-Mode", "polling")]
        #expect(try await node.get("/lp/news/sport", headers: cookie).status == 304)
        #expect(try await node.get("/lp/sport/news", headers: cookie).status == 304)
        #expect(try await app.checks() == 2)

        try await app.logout(sid)
        #expect(try await node.get("/lp/news", headers: cookie).status == 304, "cached for 2 s")
        try await Task.sleep(for: .milliseconds(2_200))
        #expect(try await node.get("/lp/news", headers: cookie).status == 401)
        #expect(try await app.checks() == 3)
    }

    /// The app slow or down: the subscriber has a 503 within the timeout, checks of one session
    /// never pile up at the app, and failures are not cached.
    @Test func aSlowOrDeadAppDeniesWithinTheTimeout() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let node = try await Self.node(app, ["--auth-timeout", "500ms"])
        defer { node.stop() }
        let sid = try await app.login("42")
        try await app.behave(delay: 3)
        let port = node.port
        let started = ContinuousClock.now
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let answer = try await RawHTTPClient.request(
                        port: port, "GET", "/ev/news", headers: [("Cookie", "sid=\(sid)")])
                    return "\(answer.status) \(answer.explain ?? "")"
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let waited = ContinuousClock.now - started
        #expect(answers == Array(repeating: "503 Authorization check timed out.", count: 8))
        #expect(waited < .milliseconds(1_500), "\(waited)")
        #expect(JSON.int(try await app.stats()["max_in_flight_per_session"]) == 1)
        // Other connections of the node were never held up.
        #expect(try await node.admin("GET", "/healthz").status == 200)

        // Not cached: once the app answers again, so does the node.
        try await app.behave()
        #expect(
            try await node.get("/lp/news", headers: [("Cookie", "sid=\(sid)"), ("X-Nginx-PushStream-Mode", "polling")])
                .status == 304)

        // Down: refused at once.
        app.stop()
        let down = try await node.get("/lp/news/other", headers: [("Cookie", "sid=\(sid)")])
        #expect(down.status == 503)
        #expect(down.explain == "Authorization check unavailable.", "not the timeout's 503")
    }

    /// An app failing (5xx) is a 503 for the subscriber, never an allow; its refusals keep their status.
    @Test func theAppsStatusIsTheSubscribersRefusal() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let node = try await Self.node(app, ["--auth-cache-ttl", "0s"])
        defer { node.stop() }
        let cookie = [("Cookie", "sid=\(try await app.login("42"))")]
        for (status, expected) in [
            (500, "503 Authorization check failed."), (302, "503 Authorization check failed."),
            (403, "403 Authorization check refused."), (429, "429 Authorization check refused."),
        ] {
            try await app.behave(status: status)
            let answer = try await node.get("/lp/news", headers: cookie)
            #expect("\(answer.status) \(answer.explain ?? "")" == expected, "app answered \(status)")
        }
    }

    /// `X-Herald-Expires`: the permission ends mid-stream as an expired grant does.
    @Test func anExpiryFromTheAppEndsTheStreamWithTheNotice() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let node = try await Self.node(app)
        defer { node.stop() }
        let cookie = [("Cookie", "sid=\(try await app.login("42"))")]
        try await app.behave(expires: Int64(Date().timeIntervalSince1970) + 2)
        let events = try await HTTPStream.connect(port: node.port, "/ev/brief", headers: cookie)
        defer { events.close() }
        #expect(events.status == 200)
        #expect(try await events.readEnd(timeout: .seconds(5)), "the stream outlived its permission")
        #expect(try Received.events(events).map(\.message.id) == [-5])
    }

    /// A grant and the cookie check side by side: a request with a token is judged by it alone.
    @Test func aGrantIsCheckedByItsSignatureEvenWithACookieCheck() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let node = try await Self.node(app, ["--auth-secret", GrantTests.secret])
        defer { node.stop() }
        let token = try await GrantTests.token(channels: ["news"])
        #expect(
            try await node.get("/lp/news?token=\(token)", headers: [("X-Nginx-PushStream-Mode", "polling")]).status
                == 304)
        #expect(try await node.get("/lp/news?token=forged").status == 403)
        #expect(try await app.checks() == 0)
        let cookie = [("Cookie", "sid=\(try await app.login("42"))"), ("X-Nginx-PushStream-Mode", "polling")]
        #expect(try await node.get("/lp/news", headers: cookie).status == 304)
        #expect(try await app.checks() == 1)
    }

    /// The check asks over plain HTTP (the app on the private network): anything else stops the
    /// node at start, saying why.
    @Test func anAuthURLTheNodeCannotAskStopsItAtStart() async throws {
        let result = try await ShellCommand.run(
            try HeraldProcess.executableURL,
            ["serve", "--port", "0", "--admin-port", "0", "--auth-url", "https://app.example.com/check"])
        #expect(result.status != 0)
        #expect(result.output.contains("--auth-url must be http://host[:port][/path]"), "\(result.output)")
    }
}
