import Foundation
import HeraldPublisher
import HeraldTesting
import Testing

/// Who is online: `/presence?id=` and `?user=` on the admin listener, from the users the grants
/// and the cookie check name; on one node, and across nodes sharing a Redis.
@Suite struct PresenceTests {
    /// `/presence?user=`: the user's connections as the node reports them.
    static func connections(_ node: HeraldProcess, user: String) async throws -> Int? {
        let answer = try await node.admin("GET", "/presence?user=\(Query.encode(user))")
        guard answer.status == 200 else { throw HarnessError("presence of \(user): \(answer)") }
        return JSON.int(try JSON.object(answer.body)["connections"])
    }

    /// `/presence?id=`: connections per user on the channel.
    static func users(_ node: HeraldProcess, channel: String) async throws -> [String: Int] {
        let answer = try await node.admin("GET", "/presence?id=\(Query.encode(channel))")
        guard answer.status == 200 else { throw HarnessError("presence on \(channel): \(answer)") }
        let online = try JSON.object(answer.body)["online"] as? [[String: Any]] ?? []
        var users: [String: Int] = [:]
        for entry in online { users[entry["user"] as? String ?? "?"] = JSON.int(entry["connections"]) }
        return users
    }

    /// Polls until `condition` holds on what `read` answers (the heartbeat writes once a second).
    static func eventually<T: Sendable>(
        within timeout: Duration = .seconds(5), _ read: () async throws -> T, _ condition: (T) -> Bool
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        var last = try await read()
        while !condition(last) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            last = try await read()
        }
        return last
    }

    @Test func oneNodeKnowsItsUsersTabsIncluded() async throws {
        let node = try await GrantTests.node(["--events-channel-id", "events", "--allow-connections-to-events-channel"])
        defer { node.stop() }
        func presence(_ query: String, accept: String = "application/json") async throws -> HTTPResponse {
            try await node.admin("GET", "/presence?\(query)", headers: [("Accept", accept)])
        }
        let tab1 = try await HTTPStream.connect(
            port: node.port, "/ev/lobby?token=\(try await GrantTests.token(user: "42", channels: ["lobby"]))")
        defer { tab1.close() }
        let tab2 = try await WebSocketTestClient.connect(
            port: node.port, "/ws/lobby?token=\(try await GrantTests.token(user: "42", channels: ["lobby"]))")
        defer { tab2.close() }
        let other = try await HTTPStream.connect(
            port: node.port, "/ev/lobby/user:43?token=\(try await GrantTests.token(user: "43", channels: ["lobby"]))")
        defer { other.close() }
        let anonymous = try await HTTPStream.connect(
            port: node.port, "/ev/lobby?token=\(try await GrantTests.token(channels: ["lobby"]))")
        defer { anonymous.close() }
        try #require(try await node.waitForSubscribers("lobby", count: 4))

        #expect(
            try await presence("id=lobby").text
                == #"{"channel": "lobby", "users": 2, "connections": 3, "online": [{"user": "42", "connections": 2}, {"user": "43", "connections": 1}]}"#
                + "\r\n")
        #expect(try await presence("user=42").text == #"{"user": "42", "online": true, "connections": 2}"# + "\r\n")
        #expect(
            try await presence("user=43", accept: "text/plain").text == "user: 43\r\nonline: true\r\nconnections: 1\r\n"
        )
        #expect(try await presence("user=44").text == #"{"user": "44", "online": false, "connections": 0}"# + "\r\n")
        #expect(
            try await presence("id=user:43", accept: "application/xml").text.contains(
                "<user connections=\"1\">43</user>"))
        for bad in ["", "id=a/b", "id=a&user=b", "user=", "user=\(String(repeating: "x", count: 257))"] {
            #expect(try await presence(bad).status == 400, "\(bad)")
        }

        tab1.close()
        let after = try await Self.eventually({ try await Self.users(node, channel: "lobby") }) { $0["42"] == 1 }
        #expect(after == ["42": 1, "43": 1])
        tab2.close()
        other.close()
        #expect(try await Self.eventually({ try await Self.users(node, channel: "lobby") }) { $0.isEmpty } == [:])
        #expect(try await presence("user=42").text.contains(#""online": false"#))

        // The events channel names the user of each subscribe and unsubscribe.
        let events = try await node.get(
            "/lp/events.b20?token=\(try await GrantTests.token(channels: ["events"]))",
            headers: [("X-Nginx-PushStream-Mode", "polling")])
        let texts = try PushMessage.decodeConcatenated(events.body).map(\.text)
        #expect(texts.contains(#"{"type": "client_subscribed", "channel": "lobby", "user": "42"}"#))
        #expect(texts.contains(#"{"type": "client_unsubscribed", "channel": "user:43", "user": "43"}"#))
        #expect(texts.contains(#"{"type": "client_subscribed", "channel": "lobby"}"#), "the anonymous grant")
    }
}

/// Presence across nodes sharing a Redis (run with the other Redis tests).
@Suite struct RedisPresenceTests {
    /// Two nodes on one Redis: a user is online wherever any of its tabs is; a node killed with -9
    /// stops counting within seconds, and does not count again when it comes back.
    @Test func theClusterKnowsAcrossNodesAndForgetsADeadOne() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let arguments = [
            "--auth-secret", GrantTests.secret, "--auth-url", app.checkURL, "--user-channel-prefix", "user:",
        ]
        let testbed = try await RedisTestbed.start(nodes: 2, arguments: arguments)
        defer { testbed.stop() }
        let (a, b) = (testbed.a, testbed.b)
        let token = try await GrantTests.token(user: "42", channels: ["lobby"])
        let onA = try await HTTPStream.connect(port: a.port, "/ev/lobby?token=\(token)")
        defer { onA.close() }
        let onB = try await HTTPStream.connect(port: b.port, "/ev/lobby/user:42?token=\(token)")
        defer { onB.close() }
        // User 43 through the cookie check: the app names the user.
        let cookie = [("Cookie", "sid=\(try await app.login("43"))")]
        let cookieTab = try await HTTPStream.connect(port: b.port, "/ev/lobby", headers: cookie)
        defer { cookieTab.close() }
        #expect(cookieTab.status == 200)

        let seenFromA = try await PresenceTests.eventually({ try await PresenceTests.users(a, channel: "lobby") }) {
            $0 == ["42": 2, "43": 1]
        }
        #expect(seenFromA == ["42": 2, "43": 1])
        #expect(try await PresenceTests.connections(b, user: "42") == 2)
        #expect(try await PresenceTests.users(a, channel: "user:42") == ["42": 1])
        // The publisher library reads the same, straight from Redis.
        let library = try await LibraryPublisher.connect(to: testbed.redis)
        defer { library.close() }
        #expect(try await library.publisher.presence(channel: "lobby").get() == ["42": 2, "43": 1])
        #expect(try await library.publisher.presence(user: "43").get() == 1)
        #expect(try await library.publisher.isOnline(user: "42"))
        #expect(try await !library.publisher.isOnline(user: "44"))

        // Killed: within the heartbeat's time to live, B's connections no longer count.
        let killed = ContinuousClock.now
        b.expectExit()
        kill(b.pid, SIGKILL)
        let afterDeath = try await PresenceTests.eventually(
            within: .seconds(10), { try await PresenceTests.users(a, channel: "lobby") }
        ) {
            $0 == ["42": 1]
        }
        #expect(afterDeath == ["42": 1], "\(testbed.logs)")
        #expect(ContinuousClock.now - killed < .seconds(8))
        #expect(try await PresenceTests.connections(a, user: "43") == 0)

        // B again, under the same name: what its previous run wrote stays uncounted.
        let again = try await RedisTestbed.node("B", redis: testbed.redis, arguments: arguments)
        defer { again.stop() }
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(try await PresenceTests.users(again, channel: "lobby") == ["42": 1])

        // A stopping cleanly removes its entries from Redis at once.
        onA.close()
        #expect(try await a.terminate() == 0)
        let redis = try RedisTestClient(port: testbed.redis.port)
        defer { redis.close() }
        #expect(try await PresenceTests.connections(again, user: "42") == 0)
        let runs = try redis.command(["ZCARD", "herald:runs"])
        #expect(runs == .integer(2), "B's dead run and B's new one; A's is gone")
    }
}

/// A crowd of users through the cookie check on one node on Redis. Run apart from the other Redis
/// suites (scripts/test): its 150 connections and cookie checks are load the timing checks of the
/// others do not need.
@Suite struct PresenceCrowdTests {
    /// More users than one batch of presence writes carries (`RedisEngine.commandsBatch`): 150
    /// users on one channel are 600 commands, and every batch of the beat reaches Redis, the one
    /// after the other; so do the removals when they leave.
    @Test func aCrowdLargerThanOneBatchIsWrittenInFull() async throws {
        let app = try await SessionApp.start()
        defer { app.stop() }
        let testbed = try await RedisTestbed.start(nodes: 1, arguments: ["--auth-url", app.checkURL])
        defer { testbed.stop() }
        let users = (0..<150).map { "crowd\($0)" }
        var tabs: [HTTPStream] = []
        defer { for tab in tabs { tab.close() } }
        for user in users {
            let cookie = [("Cookie", "sid=\(try await app.login(user))")]
            let tab = try await HTTPStream.connect(port: testbed.a.port, "/ev/crowd", headers: cookie)
            tabs.append(tab)
            #expect(tab.status == 200)
        }
        let library = try await LibraryPublisher.connect(to: testbed.redis)
        defer { library.close() }
        let online = try await PresenceTests.eventually({ try await library.publisher.presence(channel: "crowd").get() }
        ) {
            $0.count == users.count
        }
        #expect(online == Dictionary(uniqueKeysWithValues: users.map { ($0, 1) }))
        #expect(try await library.publisher.presence(user: "crowd149").get() == 1)

        for tab in tabs { tab.close() }
        tabs = []
        let left = try await PresenceTests.eventually({ try await library.publisher.presence(channel: "crowd").get() })
        {
            $0.isEmpty
        }
        #expect(left.isEmpty)
        #expect(try await library.publisher.presence(user: "crowd149").get() == 0)
    }
}
