import Foundation
import HeraldTesting
import Testing

/// `/pub` on the admin listener (admin mode) and, with `--public-publisher`, on the public one.
@Suite struct PublisherTests {
    static let noCacheExpires = "Thu, 01 Jan 1970 00:00:01 GMT"
    static let noCacheControl = "no-cache, no-store, must-revalidate"

    @Test func postAndPutPublishAndAnswerChannelInfo() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }

        let post = try await node.admin("POST", "/pub?id=news", body: Array("first".utf8))
        #expect(post.status == 200)
        #expect(post.headers["Content-Type"] == "application/json")
        #expect(
            post.text == #"{"channel": "news", "published_messages": 1, "stored_messages": 1, "subscribers": 0}"#
                + "\r\n")
        #expect(post.headers["Expires"] == Self.noCacheExpires)
        #expect(post.headers["Cache-Control"] == Self.noCacheControl)

        let put = try await node.admin("PUT", "/pub?id=news", body: Array("second".utf8))
        #expect(put.status == 200)
        let info = try JSON.object(put.body)
        #expect(JSON.int(info["published_messages"]) == 2)
        #expect(JSON.int(info["stored_messages"]) == 2)

        let get = try await node.admin("GET", "/pub?id=news")
        #expect(get.status == 200)
        #expect(
            get.text == #"{"channel": "news", "published_messages": 2, "stored_messages": 2, "subscribers": 0}"#
                + "\r\n")
        #expect(get.headers["Cache-Control"] == Self.noCacheControl)

        // Both messages are really stored, in order.
        let poll = try await node.get("/lp/news.b5")
        #expect(poll.status == 200)
        let messages = try PushMessage.decodeConcatenated(poll.body)
        #expect(messages.map(\.text) == ["first", "second"])
        #expect(messages.map(\.id) == [1, 2])
    }

    @Test func getOfUnknownChannelIs404WithoutExplain() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let response = try await node.admin("GET", "/pub?id=nobody-here")
        #expect(response.status == 404)
        #expect(response.body.isEmpty)
        #expect(response.explain == nil)
        // GET never creates the channel.
        #expect(try await node.stats("nobody-here").status == 404)
    }

    @Test func emptyPostIsRefused() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let empty = try await node.admin("POST", "/pub?id=ch", body: [])
        #expect(empty.status == 400)
        #expect(empty.explain == "Empty post requests are not allowed.")
        #expect(empty.body.isEmpty)
        let noBody = try await node.admin("PUT", "/pub?id=ch")
        #expect(noBody.status == 400)
        #expect(noBody.explain == "Empty post requests are not allowed.")
        #expect(try await node.admin("GET", "/pub?id=ch").status == 404)
    }

    @Test func bodyLargerThanMaxMessageSizeIs413() async throws {
        let node = try await HeraldProcess.start(["--max-message-size", "1k"])
        defer { node.stop() }
        let tooBig = try await node.admin("POST", "/pub?id=big", body: [UInt8](repeating: 0x61, count: 1025))
        #expect(tooBig.status == 413)
        #expect(try await node.admin("GET", "/pub?id=big").status == 404)
        // A body much larger than the limit: the client still gets to read the 413.
        let huge = try await Blocking.run { () -> HTTPResponse? in
            let client = try RawHTTPClient(port: node.adminPort)
            defer { client.close() }
            try? client.send("POST", "/pub?id=big", body: [UInt8](repeating: 0x62, count: 300_000))
            return try? client.readResponse()
        }
        #expect(huge?.status == 413)
        let fits = try await node.admin("POST", "/pub?id=big", body: [UInt8](repeating: 0x61, count: 1024))
        #expect(fits.status == 200)
        // A chunked body that grows past the limit is refused too.
        let chunked = try await Blocking.run {
            let client = try RawHTTPClient(port: node.adminPort)
            defer { client.close() }
            let chunk = String(repeating: "b", count: 800)
            let request =
                "POST /pub?id=big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "320\r\n\(chunk)\r\n320\r\n\(chunk)\r\n0\r\n\r\n"
            try client.socket.send(request)
            return try client.readResponse()
        }
        #expect(chunked.status == 413)
        let info = try JSON.object(try await node.admin("GET", "/pub?id=big").body)
        #expect(JSON.int(info["published_messages"]) == 1)
    }

    @Test func publishingToSeveralChannelsGivesEachItsOwnMessage() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publish("a", "only a")
        let both = try await node.admin("POST", "/pub?id=a/b", body: Array("to both".utf8))
        #expect(both.status == 200)
        let group = try JSON.object(both.body)
        let infos = try #require(group["infos"] as? [[String: Any]])
        #expect(infos.map { $0["channel"] as? String } == ["a", "b"])
        #expect(infos.map { JSON.int($0["published_messages"]) } == [2, 1])

        let a = try PushMessage.decodeConcatenated(try await node.get("/lp/a.b1").body)
        let b = try PushMessage.decodeConcatenated(try await node.get("/lp/b.b1").body)
        #expect(
            a == [
                PushMessage(
                    id: 2, channel: "a", text: "to both", tag: a.first?.tag ?? "", time: a.first?.time ?? "",
                    eventID: "")
            ])
        #expect(b.map(\.id) == [1])
        #expect(b.map(\.channel) == ["b"])
        #expect(b.map(\.text) == ["to both"])
    }

    @Test func deleteTellsEverySubscriberAndEndsTheirConnections() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publish("doomed", "before")
        let stream = try await HTTPStream.connect(port: node.port, "/sub/doomed")
        let events = try await HTTPStream.connect(port: node.port, "/ev/doomed")
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/doomed")
        let port = node.port
        async let longPoll = RawHTTPClient.request(port: port, "GET", "/lp/doomed", timeout: .seconds(10))
        try #require(try await node.waitForSubscribers("doomed", count: 4))

        let delete = try await node.admin("DELETE", "/pub?id=doomed")
        #expect(delete.status == 200)
        #expect(delete.explain == "Channel deleted.")
        #expect(delete.body.isEmpty)

        // Streaming: the deleted message through the iframe template, the footer, the last chunk.
        #expect(try await stream.readEnd())
        #expect(stream.sawLastChunk)
        let scripts = ScriptMessage.all(in: stream.text)
        #expect(scripts.map(\.id) == [-2])
        #expect(scripts.first?.text == "Channel deleted")
        #expect(scripts.first?.channel == "doomed")
        #expect(stream.text.hasSuffix("</body></html>"))

        // EventSource: one event with id -2, then the stream ends.
        #expect(try await events.readEnd())
        #expect(events.sawLastChunk)
        let sse = SSEParser(events.body).dataEvents
        #expect(sse.count == 1)
        let notice = try PushMessage.decode(sse.first?.data ?? "")
        #expect(notice.id == -2)
        #expect(notice.channel == "doomed")
        #expect(notice.text == "Channel deleted")

        // WebSocket: the notice frame, then a close frame, then the connection ends.
        #expect(try await socket.waitClosed())
        let frames = socket.received
        #expect(frames.filter(\.isText).count == 1)
        #expect(try PushMessage.decode(frames.first(where: \.isText)?.payload ?? []).id == -2)
        #expect(frames.last?.isClose == true)

        // Long-polling: 200 with the notice and Etag W/0.
        let answer = try await longPoll
        #expect(answer.status == 200)
        #expect(answer.headers["Etag"] == "W/0")
        #expect(try PushMessage.decodeConcatenated(answer.body).map(\.id) == [-2])

        #expect(try await node.admin("GET", "/pub?id=doomed").status == 404)
        // A publish re-creates the channel from id 1.
        try await node.publish("doomed", "reborn")
        #expect(try PushMessage.decodeConcatenated(try await node.get("/lp/doomed.b5").body).map(\.id) == [1])
    }

    @Test func deleteBodyBecomesTheNoticeTextAndOtherChannelsStay() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let events = try await HTTPStream.connect(port: node.port, "/ev/gone/stays")
        try #require(try await node.waitForSubscribers("gone", count: 1))
        let delete = try await node.admin("DELETE", "/pub?id=gone", body: Array("bye now".utf8))
        #expect(delete.status == 200)
        #expect(try await events.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        try await node.publish("stays", "still here")
        #expect(try await events.readUntil { SSEParser($0.body).dataEvents.count >= 2 })
        let messages = try SSEParser(events.body).dataEvents.map { try PushMessage.decode($0.data) }
        #expect(messages.map(\.id) == [-2, 1])
        #expect(messages.map(\.text) == ["bye now", "still here"])
        #expect(!events.ended)
    }

    @Test func deleteOfUnknownChannelIs404() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let response = try await node.admin("DELETE", "/pub?id=never-was")
        #expect(response.status == 404)
        #expect(response.explain == nil)
    }

    @Test(arguments: ["HEAD", "PATCH", "TRACE"])
    func otherMethodsAre405WithAllow(method: String) async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let response = try await node.admin(method, "/pub?id=ch")
        #expect(response.status == 405)
        #expect(response.headers["Allow"] == "GET, POST, PUT, DELETE")
    }

    @Test(arguments: ["ALL", "*", "pre*", "a/ALL"])
    func reservedChannelIDsAre403(id: String) async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        for method in ["POST", "GET", "DELETE"] {
            let response = try await node.admin(method, "/pub?id=\(Query.encode(id))", body: Array("x".utf8))
            #expect(response.status == 403, "\(method) \(id)")
            #expect(response.explain == "Channel id not authorized for this method.", "\(method) \(id)")
        }
    }

    @Test func channelIDLongerThanTheLimitIs400() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let tooLong = String(repeating: "x", count: 201)
        let response = try await node.admin("POST", "/pub?id=\(tooLong)", body: Array("x".utf8))
        #expect(response.status == 400)
        #expect(response.explain == "Channel id is too large.")
        let atLimit = try await node.admin(
            "POST", "/pub?id=\(String(repeating: "x", count: 200))", body: Array("x".utf8))
        #expect(atLimit.status == 200)
    }

    @Test(arguments: ["/pub", "/pub?id=", "/pub?other=1"])
    func missingChannelIDIs400(path: String) async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let response = try await node.admin("POST", path, body: Array("x".utf8))
        #expect(response.status == 400)
        #expect(response.explain == "No channel id provided.")
    }

    @Test func corsHeadersAndOptionsWithAllowedOrigins() async throws {
        let node = try await HeraldProcess.start(["--allowed-origins", "*"])
        defer { node.stop() }
        let allowHeaders = "If-Modified-Since,If-None-Match,Etag,Event-Id,Event-Type,Last-Event-Id"
        let post = try await node.publish("cors", "x")
        #expect(post.headers["Access-Control-Allow-Origin"] == "*")
        #expect(post.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, DELETE")
        #expect(post.headers["Access-Control-Allow-Headers"] == allowHeaders)

        let options = try await node.admin("OPTIONS", "/pub?id=cors")
        #expect(options.status == 200)
        #expect(options.body.isEmpty)
        #expect(options.headers["Access-Control-Allow-Origin"] == "*")

        let subscriberOptions = try await node.request("OPTIONS", "/sub/cors")
        #expect(subscriberOptions.status == 200)
        #expect(subscriberOptions.headers["Access-Control-Allow-Methods"] == "GET")
        let poll = try await node.get("/lp/cors.b1")
        #expect(poll.headers["Access-Control-Allow-Origin"] == "*")
        #expect(poll.headers["Access-Control-Allow-Headers"] == allowHeaders)

        let plain = try await HeraldProcess.start()
        defer { plain.stop() }
        #expect(try await plain.publish("cors", "x").headers["Access-Control-Allow-Origin"] == nil)
    }

    @Test func publicPublisherServesPubOnThePublicPortWithoutDelete() async throws {
        let closed = try await HeraldProcess.start()
        defer { closed.stop() }
        #expect(try await closed.request("POST", "/pub?id=ch", body: Array("x".utf8)).status == 404)

        let node = try await HeraldProcess.start(["--public-publisher"])
        defer { node.stop() }
        let post = try await node.request("POST", "/pub?id=open", body: Array("hello".utf8))
        #expect(post.status == 200)
        #expect(JSON.int(try JSON.object(post.body)["published_messages"]) == 1)
        let delete = try await node.request("DELETE", "/pub?id=open")
        #expect(delete.status == 405)
        #expect(delete.headers["Allow"] == "GET, POST, PUT")
        #expect(try await node.request("GET", "/pub?id=open").status == 200)
        // The admin listener still deletes.
        #expect(try await node.admin("DELETE", "/pub?id=open").status == 200)
    }

    @Test func keepAliveAndPipelinedRequestsAreAnsweredInOrder() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let responses = try await Blocking.run { () -> [HTTPResponse] in
            let client = try RawHTTPClient(port: node.adminPort)
            defer { client.close() }
            var responses: [HTTPResponse] = []
            for i in 1...5 {
                responses.append(try client.request("POST", "/pub?id=kept", body: Array("m\(i)".utf8)))
            }
            // Three requests in one write, answered in order on the same connection.
            let pipelined =
                RawHTTPClient.encode(method: "POST", path: "/pub?id=kept", headers: [], body: Array("m6".utf8))
                + RawHTTPClient.encode(method: "GET", path: "/pub?id=kept", headers: [], body: nil)
                + RawHTTPClient.encode(method: "GET", path: "/pub?id=unknown", headers: [], body: nil)
            try client.socket.send(pipelined)
            for _ in 0..<3 { responses.append(try client.readResponse()) }
            return responses
        }
        #expect(responses.map(\.status) == [200, 200, 200, 200, 200, 200, 200, 404])
        let counts = try responses.prefix(7).map { JSON.int(try JSON.object($0.body)["published_messages"]) }
        #expect(counts == [1, 2, 3, 4, 5, 6, 6])
    }

    @Test func chunkedRequestBodyIsPublishedVerbatim() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let response = try await Blocking.run {
            let client = try RawHTTPClient(port: node.adminPort)
            defer { client.close() }
            try client.socket.send(
                "POST /pub?id=chunky HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            return try client.readResponse()
        }
        #expect(response.status == 200)
        #expect(
            try PushMessage.decodeConcatenated(try await node.get("/lp/chunky.b1").body).map(\.text) == ["hello world"])
    }

    @Test func expectContinueGetsAnInterimResponse() async throws {
        // curl sends `Expect: 100-continue` for bodies over 1 KiB and waits a second for the 100.
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let (interim, final) = try await Blocking.run { () -> (HTTPResponse?, HTTPResponse) in
            let client = try RawHTTPClient(port: node.adminPort)
            defer { client.close() }
            try client.socket.send(
                "POST /pub?id=curl HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            let interim = try? client.readResponse(deadline: .after(.milliseconds(500)))
            try client.socket.send("hello")
            return (interim, try client.readResponse())
        }
        #expect(interim?.status == 100, "no 100 Continue within 500 ms")
        #expect(final.status == 200)
    }

    @Test func plusInAChannelIDIsLiteral() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/ev/a+b")
        defer { stream.close() }
        try #require(try await node.waitForSubscribers("a+b", count: 1))
        #expect(try await node.admin("POST", "/pub?id=a+b", body: Array("plus".utf8)).status == 200)
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        #expect(try PushMessage.decode(SSEParser(stream.body).dataEvents.first?.data ?? "").channel == "a+b")
    }

    @Test func channelInfoOnPublishAndStorageCanBeTurnedOff() async throws {
        let node = try await HeraldProcess.start(["--no-channel-info-on-publish", "--no-store-messages"])
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/ev/volatile")
        defer { stream.close() }
        try #require(try await node.waitForSubscribers("volatile", count: 1))
        let post = try await node.admin("POST", "/pub?id=volatile", body: Array("fleeting".utf8))
        #expect(post.status == 200)
        #expect(post.body.isEmpty)
        // Delivered live, but not stored.
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        let info = try JSON.object(try await node.admin("GET", "/pub?id=volatile").body)
        #expect(JSON.int(info["published_messages"]) == 1)
        #expect(JSON.int(info["stored_messages"]) == 0)
        // Nothing is stored, yet a message was published: a backtrack into it gets the notice alone.
        let backtrack = try await node.get("/lp/volatile.b5", headers: [("X-Nginx-PushStream-Mode", "polling")])
        #expect(try PushMessage.decodeConcatenated(backtrack.body).map(\.id) == [-4])
    }
}
