import Foundation
import HeraldCore
import HeraldTesting
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import HeraldServer

@Suite struct HTTPConnectionHandlerTests {
    private func publish(
        _ node: EmbeddedNode, _ channel: String, _ text: String, headers: String = ""
    ) throws
        -> String
    {
        let admin = try node.connect(.admin)
        try admin.send(
            "POST /pub?id=\(channel) HTTP/1.1\r\nHost: x\r\n\(headers)Content-Length: \(text.utf8.count)\r\n\r\n\(text)"
        )
        node.settle()
        return try admin.receivedText()
    }

    @Test func publishAnswersWithChannelInfo() throws {
        let node = EmbeddedNode()
        let response = try publish(node, "ch1", "hello")
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Cache-Control: no-cache, no-store, must-revalidate\r\n"))
        #expect(
            response.hasSuffix(
                #"{"channel": "ch1", "published_messages": 1, "stored_messages": 1, "subscribers": 0}"#
                    + "\r\n"))
    }

    @Test func refusalsAreHeaderOnlyWithExplain() throws {
        let node = EmbeddedNode { $0.maxMessageSize = ByteSize(bytes: 4) }
        let admin = try node.connect(.admin)
        try admin.send("POST /pub HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")
        let noID = try admin.receivedText()
        #expect(noID.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(noID.contains("X-Nginx-PushStream-Explain: No channel id provided.\r\n"))
        #expect(noID.contains("Content-Length: 0\r\n"))

        try admin.send("HEAD /pub?id=a HTTP/1.1\r\n\r\n")
        let head = try admin.receivedText()
        #expect(head.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(head.contains("Allow: GET, POST, PUT, DELETE\r\n"))

        try admin.send("POST /pub?id=a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
        #expect(try admin.receivedText().hasPrefix("HTTP/1.1 413"))
    }

    @Test func eventSourceGetsStoredThenLiveMessagesWithCursor() throws {
        let node = EmbeddedNode()
        _ = try publish(node, "news", "first")
        let subscriber = try node.connect(.public)
        try subscriber.send("GET /ev/news.b1 HTTP/1.1\r\nHost: x\r\n\r\n")
        let opening = CursorText.withoutGenerations(inText: try subscriber.receivedText())
        #expect(opening.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(opening.contains("Content-Type: text/event-stream; charset=utf-8\r\n"))
        #expect(opening.contains("id: hc:news:1\ndata: {\"id\":1,\"channel\":\"news\",\"text\":\"first\""))

        _ = try publish(node, "news", "second", headers: "Event-Type: update\r\n")
        let live = CursorText.withoutGenerations(inText: try subscriber.receivedText())
        #expect(live.contains("id: hc:news:2\nevent: update\ndata: {\"id\":2,"))
        #expect(node.context.registry.subscriberCount("news") == 1)

        try subscriber.channel.close().wait()
        node.settle()
        #expect(node.context.registry.subscriberCount("news") == 0)
    }

    @Test func messagesArrivingTogetherLeaveInOneWrite() throws {
        let node = EmbeddedNode()
        let subscriber = try node.connect(.public)
        try subscriber.send("GET /ev/burst HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try subscriber.received()
        let admin = try node.connect(.admin)
        try admin.send(
            (1...3).map { "POST /pub?id=burst HTTP/1.1\r\nContent-Length: 2\r\n\r\nm\($0)" }.joined())
        node.settle()
        var writes: [String] = []
        while let part = try subscriber.channel.readOutbound(as: ByteBuffer.self) {
            writes.append(String(buffer: part))
        }
        #expect(writes.count == 1, "\(writes)")
        #expect(
            writes.first.map { SSEIDs.of($0).map { CursorText.withoutGenerations($0)! } } == [
                "hc:burst:1", "hc:burst:2", "hc:burst:3",
            ])
    }

    @Test func multiChannelEventSourceCursorCarriesEveryChannel() throws {
        let node = EmbeddedNode()
        _ = try publish(node, "a", "a1")
        _ = try publish(node, "b", "b1")
        let subscriber = try node.connect(.public)
        try subscriber.send("GET /ev/a/b HTTP/1.1\r\n\r\n")
        _ = try subscriber.received()
        _ = try publish(node, "b", "b2")
        #expect(CursorText.withoutGenerations(inText: try subscriber.receivedText()).contains("id: hc:a:1,b:2\n"))
    }

    @Test func webSocketHandshakeFramesPingAndInvalidUTF8() throws {
        let node = EmbeddedNode()
        let socket = try node.connect(.public)
        try socket.send(
            "GET /ws/room HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Key: /mQoZf6pRiv8+6o72GncLQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let handshake = try socket.receivedText()
        #expect(handshake.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(handshake.contains("Sec-WebSocket-Accept: RaIOIcQ6CBoc74B9EKdH0avYZnw=\r\n"))

        _ = try publish(node, "room", "hi")
        let frame = try socket.received()
        #expect(frame.first == 0x81)
        #expect(String(decoding: frame.dropFirst(2), as: UTF8.self).hasPrefix(#"{"id":1,"channel":"room","text":"hi""#))

        // A masked ping is answered with a pong carrying the same payload.
        try socket.send(bytes: [0x89, 0x82, 1, 2, 3, 4, 0x61 ^ 1, 0x62 ^ 2])
        #expect(try socket.received() == [0x8A, 0x02, 0x61, 0x62])

        // Invalid UTF-8 in a text frame closes with 1007.
        try socket.send(bytes: [0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28])
        #expect(try socket.received() == [0x88, 0x02, 0x03, 0xEF])
    }

    @Test func webSocketRefusalAfterHandshakeIsACloseFrame() throws {
        let node = EmbeddedNode { $0.authorizedChannelsOnly = true }
        let socket = try node.connect(.public)
        try socket.send(
            "GET /ws/empty HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Key: /mQoZf6pRiv8+6o72GncLQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
        let bytes = try socket.received()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 101"))
        let reason = #"{"http_status": 403, "explain":"Subscriber could not create channels."}"#
        #expect(
            Array(bytes.suffix(reason.utf8.count + 4)) == [0x88, UInt8(reason.utf8.count + 2), 0x03, 0xF0]
                + Array(reason.utf8))
    }

    @Test func longPollWaitsForTheNextMessage() throws {
        let node = EmbeddedNode()
        let poll = try node.connect(.public)
        try poll.send("GET /lp/q HTTP/1.1\r\n\r\n")
        #expect(try poll.received().isEmpty)
        _ = try publish(node, "q", "wake")
        let response = try poll.receivedText()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Etag: W/1\r\n"))
        #expect(response.hasSuffix(#""text":"wake", "tag":"1", "time":"Tue, 14 Nov 2023 22:13:20 GMT", "eventid":""}"#))
        #expect(node.context.registry.subscriberCount("q") == 0)
    }

    /// A waiting long-poll woken by a gap notice alone (a Redis that came back without the channel's
    /// messages) answers with the point right before the messages that follow, never the clock:
    /// both the single-channel validators and the multi-channel cursor.
    @Test func aLongPollAnsweredWithANoticeAloneNamesThePointBeforeWhatFollows() throws {
        let node = EmbeddedNode()
        let single = try node.connect(.public)
        try single.send("GET /lp/q HTTP/1.1\r\n\r\n")
        let several = try node.connect(.public)
        try several.send("GET /lp/q/r HTTP/1.1\r\n\r\n")
        #expect(try single.received().isEmpty)
        // The next generation began in second 1,800,000,000; its message 3 (tag 2 of second
        // 1,800,000,005) is the last one gone.
        let point = StreamPoint(id: 3, generation: 1_800_000_000_000_000, time: 1_800_000_005, tag: 2)
        node.context.registry.deliverGap("q", resumeAt: point)
        node.settle()
        let answer = try single.receivedText()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.contains("Last-Modified: \(HTTPDate.format(1_800_000_005))\r\n"), "\(answer)")
        #expect(answer.contains("Etag: W/2\r\n"), "\(answer)")
        #expect(answer.contains(#""id":-4,"channel":"q","text":"Messages missed", "tag":"2""#), "\(answer)")
        let cursor = try several.receivedText()
        #expect(cursor.contains("Etag: W/hc:q:3:1800000000000000,r:0:"), "\(cursor)")
    }

    @Test func deleteTellsSubscribersAndEndsTheirStream() throws {
        let node = EmbeddedNode()
        let subscriber = try node.connect(.public)
        try subscriber.send("GET /sub/gone HTTP/1.1\r\n\r\n")
        _ = try subscriber.received()
        let admin = try node.connect(.admin)
        try admin.send("DELETE /pub?id=gone HTTP/1.1\r\n\r\n")
        node.settle()
        let answer = try admin.receivedText()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.contains("X-Nginx-PushStream-Explain: Channel deleted.\r\n"))
        let stream = try subscriber.receivedText()
        #expect(stream.contains("<script>p(-2,'gone','Channel deleted','',"))
        #expect(stream.hasSuffix("</body></html>\r\n0\r\n\r\n"))
    }
}

@Suite struct PipeliningTests {
    private func adminConnection(
        _ configure: (inout NodeSettings) -> Void = { _ in }
    ) throws -> (GatedEngine, EmbeddedConnection) {
        let loop = EmbeddedEventLoop()
        var settings = NodeSettings()
        configure(&settings)
        let engine = GatedEngine(loop: loop, settings: settings)
        let registry = SubscriberRegistry(group: loop, engine: engine, settings: settings)
        engine.attach(registry)
        let context = NodeContext(settings: settings, engine: engine, registry: registry, logger: Logger(label: "t"))
        let channel = EmbeddedChannel(loop: loop)
        try HeraldNode.configureHTTP(channel.pipeline.syncOperations, context: context, role: .admin)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (engine, EmbeddedConnection(channel: channel, loop: loop))
    }

    private func publishRequest(_ channel: String, _ text: String) -> String {
        "POST /pub?id=\(channel) HTTP/1.1\r\nContent-Length: \(text.utf8.count)\r\n\r\n\(text)"
    }

    /// The channel of each answer, in the order the answers came.
    private func answeredChannels(_ text: String) -> [String] {
        text.components(separatedBy: "\"channel\": \"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    @Test func pipelinedPublishesRunTogetherAndAreAnsweredInRequestOrder() throws {
        let (engine, admin) = try adminConnection()
        engine.holdPublishes = true
        try admin.send(["a", "b", "c", "d"].map { publishRequest($0, "m") }.joined())
        // All four reached the engine before any was answered.
        #expect(engine.heldPublishes.map { $0.request.channels } == [["a"], ["b"], ["c"], ["d"]])
        #expect(try admin.receivedText().isEmpty)
        // Redis answers the last first: its answer waits for those before it.
        engine.releasePublish(3)
        engine.releasePublish(1)
        #expect(try admin.receivedText().isEmpty)
        engine.releasePublish(0)
        #expect(answeredChannels(try admin.receivedText()) == ["a", "b"])
        engine.releasePublish(0)
        #expect(answeredChannels(try admin.receivedText()) == ["c", "d"])
    }

    @Test func anyOtherRequestWaitsForThePublishesBeforeItAndRunsAlone() throws {
        let (engine, admin) = try adminConnection()
        engine.holdPublishes = true
        try admin.send(publishRequest("a", "m1") + "GET /pub?id=a HTTP/1.1\r\n\r\n" + publishRequest("a", "m2"))
        #expect(engine.heldPublishes.count == 1)
        engine.releasePublish(0)
        // The channel-info read saw the first publish; the second publish started only after it.
        let first = try admin.receivedText()
        #expect(first.components(separatedBy: "\"published_messages\": 1,").count == 3)
        #expect(engine.heldPublishes.count == 1)
        engine.releasePublish(0)
        #expect(try admin.receivedText().contains("\"published_messages\": 2,"))
    }

    @Test func aTooLargeRequestIsRefusedAfterTheAnswersBeforeIt() throws {
        let (engine, admin) = try adminConnection { $0.maxMessageSize = ByteSize(bytes: 8) }
        engine.holdPublishes = true
        try admin.send(publishRequest("a", "small") + publishRequest("a", "far too large"))
        #expect(try admin.receivedText().isEmpty)
        engine.releasePublish(0)
        let answers = try admin.receivedText()
        #expect(answers.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answers.contains("HTTP/1.1 413 Payload Too Large\r\n"))
        #expect(answers.firstRange(of: "200 OK")!.lowerBound < answers.firstRange(of: "413")!.lowerBound)
        #expect(!admin.channel.isActive)
    }

    @Test func anUnparsableRequestIsRefusedAfterTheAnswersBeforeIt() throws {
        let (engine, admin) = try adminConnection()
        engine.holdPublishes = true
        try admin.send(publishRequest("a", "m") + "GARBAGE\r\n\r\n")
        #expect(try admin.receivedText().isEmpty)
        engine.releasePublish(0)
        let answers = try admin.receivedText()
        #expect(answers.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answers.contains("HTTP/1.1 400 Bad Request\r\n"))
        #expect(answers.contains("Connection: close\r\n"))
        #expect(!admin.channel.isActive)
    }

    @Test func oversizedHeadersAreRefusedWith431() throws {
        let (_, admin) = try adminConnection()
        let huge = String(repeating: "h", count: 100_000)
        try admin.send("GET /pub?id=a HTTP/1.1\r\nX-Huge: \(huge)\r\n\r\n")
        let answer = try admin.receivedText()
        #expect(answer.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "\(answer.prefix(80))")
        #expect(answer.contains("X-Nginx-PushStream-Explain: Request headers are too large.\r\n"))
        #expect(!admin.channel.isActive)
    }

    @Test func readingPausesWhileTooManyRequestsAwaitAnswers() throws {
        let (engine, admin) = try adminConnection { $0.maxPipelinedRequests = 2 }
        let reads = ReadCounter()
        try admin.channel.pipeline.syncOperations.addHandler(reads, position: .first)
        engine.holdPublishes = true
        try admin.send(["a", "b", "c"].map { publishRequest($0, "m") }.joined())
        admin.channel.read()
        #expect(reads.count == 0, "the socket is not read while three requests wait")
        engine.releasePublish(0)
        engine.releasePublish(0)
        #expect(reads.count == 1, "one answer left to give: reading resumes")
        engine.releasePublish(0)
        #expect(answeredChannels(try admin.receivedText()) == ["a", "b", "c"])
    }

    @Test func pipelinedPublishesAreAllAnsweredInOrderWhenTheEngineAnswersLater() throws {
        let (engine, admin) = try adminConnection()
        engine.deferPublishes = true
        var requests = ""
        for i in 1...5 { requests += "POST /pub?id=p HTTP/1.1\r\nContent-Length: 2\r\n\r\nm\(i)" }
        try admin.send(requests)
        let answers = try admin.receivedText().components(separatedBy: "HTTP/1.1 200 OK").dropFirst()
        #expect(answers.count == 5)
        #expect(answers.enumerated().allSatisfy { $1.contains("\"published_messages\": \($0 + 1),") })
    }
}

/// Counts the reads that reach the socket end of the pipeline.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = Any
    private(set) var count = 0

    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}

/// The `id:` lines of an EventSource stream, in order.
enum SSEIDs {
    static func of(_ text: String) -> [String] {
        // By code unit: "\r\n" (chunk framing) is one Character, which splitting on "\n" would miss.
        text.utf8.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
            .filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
    }
}
