import Foundation
import HeraldTesting
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `/channels-stats` on the admin listener.
@Suite struct StatsTests {
    /// A node with channels `a` (2 messages) and `b` (1 message), created in that order.
    static func nodeWithTwoChannels(_ arguments: [String] = []) async throws -> HeraldProcess {
        let node = try await HeraldProcess.start(arguments)
        try await node.publish("a", "a1")
        try await node.publish("a", "a2")
        try await node.publish("b", "b1")
        return node
    }

    static func isISOTime(_ value: Any?) -> Bool {
        guard let text = value as? String else { return false }
        return text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"#, options: .regularExpression) != nil
    }

    @Test func summaryCountsChannelsMessagesAndSubscribers() async throws {
        let node = try await Self.nodeWithTwoChannels()
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/ev/a")
        defer { stream.close() }
        try #require(try await node.waitForSubscribers("a", count: 1))

        let response = try await node.stats()
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.headers["X-Nginx-PushStream-Tag"] != nil)
        #expect(response.headers["X-Nginx-PushStream-Commit"] != nil)
        #expect(response.text.hasSuffix("]}\r\n"))
        let summary = try JSON.object(response.body)
        #expect(summary["hostname"] is String)
        #expect(Self.isISOTime(summary["time"]))
        #expect(JSON.int(summary["channels"]) == 2)
        #expect(JSON.int(summary["wildcard_channels"]) == 0)
        #expect(JSON.int(summary["published_messages"]) == 3)
        #expect(JSON.int(summary["stored_messages"]) == 3)
        #expect(JSON.int(summary["subscribers"]) == 1)
        #expect(JSON.int(summary["uptime"]).map { $0 >= 0 } == true)
        let workers = try #require(summary["by_worker"] as? [[String: Any]])
        #expect(workers.count == 1)
        #expect(workers.first?["pid"] as? String == String(node.pid))
        #expect(JSON.int(workers.first?["subscribers"]) == 1)
    }

    @Test func singleChannel() async throws {
        let node = try await Self.nodeWithTwoChannels()
        defer { node.stop() }
        let response = try await node.stats("a")
        #expect(response.status == 200)
        #expect(
            response.text == #"{"channel": "a", "published_messages": 2, "stored_messages": 2, "subscribers": 0}"#
                + "\r\n")
    }

    @Test func allListsEveryChannelInCreationOrder() async throws {
        let node = try await Self.nodeWithTwoChannels()
        defer { node.stop() }
        try await node.publish("0-created-last", "x")
        let group = try JSON.object(try await node.stats("ALL").body)
        #expect(JSON.int(group["channels"]) == 3)
        #expect(Self.isISOTime(group["time"]))
        #expect(group["hostname"] is String)
        let infos = try #require(group["infos"] as? [[String: Any]])
        #expect(infos.map { $0["channel"] as? String } == ["a", "b", "0-created-last"])
        #expect(infos.map { JSON.int($0["stored_messages"]) } == [2, 1, 1])
    }

    @Test func prefixQuery() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        for channel in ["pre_1", "other", "pre_2"] { try await node.publish(channel, "x") }
        let group = try JSON.object(try await node.stats("pre_*").body)
        let infos = try #require(group["infos"] as? [[String: Any]])
        #expect(infos.map { $0["channel"] as? String } == ["pre_1", "pre_2"])
        #expect(JSON.int(group["channels"]) == 3)

        let none = try await node.stats("zzz*")
        #expect(none.status == 200)
        #expect(none.text.hasSuffix("\"infos\": [\r\n]}\r\n"))
        #expect((try JSON.object(none.body)["infos"] as? [Any])?.isEmpty == true)
    }

    @Test func listOfChannels() async throws {
        let node = try await Self.nodeWithTwoChannels()
        defer { node.stop() }
        let group = try JSON.object(try await node.stats("b/missing/a").body)
        let infos = try #require(group["infos"] as? [[String: Any]])
        #expect(infos.map { $0["channel"] as? String } == ["b", "a"])

        let oneExists = try JSON.object(try await node.stats("missing/a").body)
        #expect(oneExists["channel"] as? String == "a")
        #expect(oneExists["infos"] == nil)

        #expect(try await node.stats("missing/gone").status == 404)
    }

    @Test func unknownChannelIs404() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let response = try await node.stats("nope")
        #expect(response.status == 404)
        #expect(response.body.isEmpty)
    }

    @Test func onlyGetIsAllowedAndLongIDsAreRefused() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let post = try await node.admin("POST", "/channels-stats", body: Array("x".utf8))
        #expect(post.status == 405)
        #expect(post.headers["Allow"] == "GET")
        let long = try await node.stats(String(repeating: "y", count: 201))
        #expect(long.status == 400)
        #expect(long.explain == "Channel id is too large.")
    }

    @Test func plainText() async throws {
        let node = try await Self.nodeWithTwoChannels()
        defer { node.stop() }
        let single = try await node.stats("a", accept: "text/plain")
        #expect(single.headers["Content-Type"] == "text/plain")
        #expect(single.text == "channel: a\r\npublished_messages: 2\r\nstored_messages: 2\r\nactive_subscribers: 0\r\n")
        let group = try await node.stats("ALL", accept: "text/plain")
        #expect(group.text.hasPrefix("hostname: "))
        #expect(group.text.contains(", channels: 2, wildcard_channels: 0, uptime: "))
        #expect(group.text.contains("infos: \r\nchannel: a\r\n"))
        let summary = try await node.stats(accept: "text/plain")
        #expect(summary.text.contains("published_messages: 3\r\n"))
    }

    @Test func yaml() async throws {
        let node = try await Self.nodeWithTwoChannels()
        defer { node.stop() }
        let single = try await node.stats("a", accept: "application/yaml")
        #expect(single.headers["Content-Type"] == "application/yaml")
        #expect(
            single.text == "  channel: a\r\n  published_messages: 2\r\n  stored_messages: 2\r\n  subscribers: 0\r\n")
        let group = try await node.stats("ALL", accept: "text/x-yaml")
        #expect(group.headers["Content-Type"] == "text/x-yaml")
        #expect(group.text.contains("channels: 2\r\n"))
        #expect(group.text.contains("infos: \r\n -\r\n  channel: a\r\n"))
    }

    @Test func xml() async throws {
        let node = try await Self.nodeWithTwoChannels()
        defer { node.stop() }
        let prolog = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n"
        let single = try await node.stats("a", accept: "application/xml")
        #expect(single.headers["Content-Type"] == "application/xml")
        #expect(single.text.hasPrefix(prolog + "<channel>\r\n  <name>a</name>\r\n"))
        #expect(single.text.contains("<published_messages>2</published_messages>"))
        #expect(Self.isWellFormedXML(single.body))

        let group = try await node.stats("ALL", accept: "application/xml")
        #expect(group.text.hasPrefix(prolog + "<root>"))
        #expect(group.text.contains("<channels>2</channels>"))
        #expect(Self.isWellFormedXML(group.body))

        let summary = try await node.stats(accept: "application/xml")
        #expect(summary.text.contains("<published_messages>3</published_messages>"))
        #expect(Self.isWellFormedXML(summary.body))
    }

    @Test func jsonIsTheDefaultForUnknownAccept() async throws {
        let node = try await Self.nodeWithTwoChannels()
        defer { node.stop() }
        let response = try await node.stats("a", accept: "image/png")
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(try JSON.object(response.body)["channel"] as? String == "a")
    }

    static func isWellFormedXML(_ bytes: [UInt8]) -> Bool {
        XMLParser(data: Data(bytes)).parse()
    }

    @Test func summaryCountsSubscribersNotSubscriptions() async throws {
        // push-stream counts a subscriber (a connection) once, however many channels it joined.
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/ev/one/two/three")
        defer { stream.close() }
        try #require(try await node.waitForSubscribers("three", count: 1))
        let group = try JSON.object(try await node.stats("ALL").body)
        let infos = try #require(group["infos"] as? [[String: Any]])
        #expect(infos.map { JSON.int($0["subscribers"]) } == [1, 1, 1])
        let summary = try await node.statsJSON()
        #expect(JSON.int(summary["subscribers"]) == 1, "summary: \(summary)")
        #expect(JSON.int((summary["by_worker"] as? [[String: Any]])?.first?["subscribers"]) == 1)
    }
}
