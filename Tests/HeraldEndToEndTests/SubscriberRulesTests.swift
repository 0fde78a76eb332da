import Foundation
import HeraldTesting
import Testing

/// Who may subscribe where: authorized channels, limits, wildcards, the events channel.
@Suite struct SubscriberRulesTests {
    @Test func authorizedChannelsOnlyNeedsAStoredMessage() async throws {
        let node = try await HeraldProcess.start(["--authorized-channels-only"])
        defer { node.stop() }
        for path in ["/sub/locked", "/ev/locked", "/lp/locked"] {
            let refused = try await node.get(path)
            #expect(refused.status == 403, "\(path)")
            #expect(refused.explain == "Subscriber could not create channels.", "\(path)")
        }
        #expect(try await node.stats("locked").status == 404)
        try await node.publish("locked", "open sesame")
        let stream = try await HTTPStream.connect(port: node.port, "/ev/locked.b1")
        defer { stream.close() }
        #expect(stream.status == 200)
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
    }

    @Test func subscribersPerChannelLimit() async throws {
        let node = try await HeraldProcess.start(["--max-subscribers-per-channel", "1"])
        defer { node.stop() }
        let first = try await HTTPStream.connect(port: node.port, "/ev/solo")
        defer { first.close() }
        #expect(first.status == 200)
        try #require(try await node.waitForSubscribers("solo", count: 1))
        let second = try await node.get("/sub/solo")
        #expect(second.status == 403)
        #expect(second.explain == "Subscribers limit per channel has been exceeded.")
        // Once the first leaves, there is room again.
        first.close()
        try #require(try await node.waitForSubscribers("solo", count: 0))
        let third = try await HTTPStream.connect(port: node.port, "/ev/solo")
        defer { third.close() }
        #expect(third.status == 200)
    }

    @Test func wildcardChannelsNeedANormalOneAndAreCapped() async throws {
        let node = try await HeraldProcess.start([
            "--wildcard-channel-prefix", "bd_", "--wildcard-channel-max-qtd", "1", "--authorized-channels-only",
        ])
        defer { node.stop() }
        try await node.publish("news", "n1")
        let alone = try await node.get("/sub/bd_all")
        #expect(alone.status == 403)
        #expect(alone.explain == "Subscribed too much wildcard channels.")
        let tooMany = try await node.get("/sub/news/bd_one/bd_two")
        #expect(tooMany.status == 403)
        #expect(tooMany.explain == "Subscribed too much wildcard channels.")

        // One wildcard channel with a normal one is fine, and it is exempt from authorized-channels-only.
        let stream = try await HTTPStream.connect(port: node.port, "/ev/news/bd_one")
        defer { stream.close() }
        #expect(stream.status == 200)
        try #require(try await node.waitForSubscribers("bd_one", count: 1))
        try await node.publish("bd_one", "broadcast")
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        #expect(try PushMessage.decode(SSEParser(stream.body).dataEvents[0].data).channel == "bd_one")
        #expect(JSON.int(try await node.statsJSON()["wildcard_channels"]) == 1)
    }

    @Test func numberOfChannelsLimit() async throws {
        let node = try await HeraldProcess.start(["--max-number-of-channels", "1"])
        defer { node.stop() }
        try await node.publish("first", "x")
        let refused = try await node.admin("POST", "/pub?id=second", body: Array("x".utf8))
        #expect(refused.status == 403)
        #expect(refused.explain == "Number of channels were exceeded.")
        let subscriber = try await node.get("/sub/third")
        #expect(subscriber.status == 403)
        #expect(subscriber.explain == "Number of channels were exceeded.")
    }

    @Test func eventsChannelIsClosedByDefault() async throws {
        let node = try await HeraldProcess.start(["--events-channel-id", "events"])
        defer { node.stop() }
        let subscribe = try await node.get("/ev/events")
        #expect(subscribe.status == 403)
        #expect(subscribe.explain == "Subscription to events channel is not allowed.")
        for method in ["POST", "DELETE"] {
            let change = try await node.admin(method, "/pub?id=events", body: Array("x".utf8))
            #expect(change.status == 403, "\(method)")
            #expect(change.explain == "Only internal routines can change events channel.", "\(method)")
        }
    }

    @Test func eventsChannelReportsChannelsAndClients() async throws {
        let node = try await HeraldProcess.start([
            "--events-channel-id", "events", "--allow-connections-to-events-channel",
        ])
        defer { node.stop() }
        let app = try await HTTPStream.connect(port: node.port, "/ev/events")
        defer { app.close() }
        #expect(app.status == 200)
        try #require(try await node.waitForSubscribers("events", count: 1))

        let client = try await HTTPStream.connect(port: node.port, "/ev/room")
        try #require(try await node.waitForSubscribers("room", count: 1))
        client.close()
        try #require(try await node.waitForSubscribers("room", count: 0))

        #expect(try await app.readUntil { SSEParser($0.body).dataEvents.count >= 3 })
        let events = SSEParser(app.body).dataEvents
        let decoded = try events.map { event -> (type: String?, text: [String: Any]) in
            let message = try PushMessage.decode(event.data)
            #expect(message.channel == "events")
            return (event.event, try JSON.object(Array(message.text.utf8)))
        }
        let forRoom = decoded.filter { $0.text["channel"] as? String == "room" }
        #expect(forRoom.map(\.type) == ["channel_created", "client_subscribed", "client_unsubscribed"])
        #expect(forRoom.map { $0.text["type"] as? String } == forRoom.map(\.type))
        // Events do not count as published messages.
        #expect(JSON.int(try await node.statsJSON()["published_messages"]) == 0)
    }

    @Test func eventsChannelReportsDestroyedChannels() async throws {
        let node = try await HeraldProcess.start([
            "--events-channel-id", "events", "--allow-connections-to-events-channel", "--channel-inactivity-time", "1s",
        ])
        defer { node.stop() }
        let app = try await HTTPStream.connect(port: node.port, "/ev/events")
        defer { app.close() }
        try #require(try await node.waitForSubscribers("events", count: 1))
        try await node.publish("deleted", "x")
        #expect(try await node.admin("DELETE", "/pub?id=deleted").status == 200)
        // A channel with nothing stored and nobody subscribed is forgotten after the inactivity time.
        let visitor = try await HTTPStream.connect(port: node.port, "/ev/visited")
        try #require(try await node.waitForSubscribers("visited", count: 1))
        visitor.close()
        #expect(
            try await app.readUntil(timeout: .seconds(9)) { stream in
                SSEParser(stream.body).dataEvents.contains {
                    $0.event == "channel_destroyed" && $0.data.contains("visited")
                }
            })
        let destroyed = SSEParser(app.body).dataEvents.filter { $0.event == "channel_destroyed" }
        let channels = try destroyed.map {
            try JSON.object(Array(try PushMessage.decode($0.data).text.utf8))["channel"] as? String
        }
        #expect(channels == ["deleted", "visited"])
        #expect(try await node.stats("visited").status == 404)
    }
}
