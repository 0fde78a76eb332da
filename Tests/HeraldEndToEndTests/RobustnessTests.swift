import Foundation
import HeraldTesting
import Testing

/// Bad clients must not hurt the node or the other clients.
@Suite struct RobustnessTests {
    @Test(arguments: [
        "GARBAGE\r\n\r\n",
        "GET /pub?id=x HTTP/9.9 extra\r\n\r\n",
        "\u{01}\u{02}\u{03}\r\n\r\n",
        "GET /pub?id=x HTTP/1.1\r\nNo colon here\r\n\r\n",
        "POST /pub?id=x HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
    ])
    func malformedRequestIs400AndTheNodeKeepsServing(raw: String) async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let (response, closed) = try await Blocking.run { () -> (HTTPResponse?, Bool) in
            let client = try RawHTTPClient(port: node.adminPort)
            defer { client.close() }
            try client.socket.send(raw)
            let response = try? client.readResponse()
            return (response, client.waitForClose(within: .seconds(3)))
        }
        #expect(
            response?.status == 400, "\(raw.debugDescription) → \(response.map { "\($0.status)" } ?? "no response")")
        #expect(closed)
        #expect(try await node.publish("after", "still alive").status == 200)
        #expect(node.isRunning)
    }

    @Test func hugeHeadersAreRefusedAndTheNodeKeepsServing() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let port = node.port
        let (status, closed) = try await Blocking.run { () -> (Int?, Bool) in
            let client = try RawHTTPClient(port: port)
            defer { client.close() }
            let huge = String(repeating: "h", count: 200_000)
            try? client.send("GET", "/sub/ch", headers: [("X-Huge", huge)])
            let status = (try? client.readResponse())?.status
            return (status, client.waitForClose(within: .seconds(3)))
        }
        #expect(status.map { (400...431).contains($0) } ?? true, "status \(String(describing: status))")
        #expect(closed)
        let many = try await Blocking.run { () -> Int? in
            let client = try RawHTTPClient(port: port)
            defer { client.close() }
            let headers = (0..<5000).map { ("X-Header-\($0)", "value-\($0)") }
            try? client.send("GET", "/sub/ch", headers: headers)
            return (try? client.readResponse())?.status
        }
        #expect(many.map { (400...431).contains($0) } ?? true, "status \(String(describing: many))")
        #expect(try await node.publish("after", "still alive").status == 200)
    }

    @Test func silentAndHalfSentConnectionsAreClosedAfterTheRequestTimeout() async throws {
        let node = try await HeraldProcess.start(["--request-timeout", "1s"])
        defer { node.stop() }
        let port = node.port
        let started = ContinuousClock.now
        async let silent = Blocking.run { () -> Bool in
            let client = try RawHTTPClient(port: port)
            defer { client.close() }
            return client.waitForClose(within: .seconds(5))
        }
        async let partial = Blocking.run { () -> Bool in
            let client = try RawHTTPClient(port: port)
            defer { client.close() }
            try client.socket.send("GET /sub/ch HTTP/1.1\r\nHost: x\r\n")
            return client.waitForClose(within: .seconds(5))
        }
        #expect(try await silent)
        #expect(try await partial)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(800))
        #expect(elapsed < .seconds(4))
        // A subscriber that is waiting is not "idle".
        let stream = try await HTTPStream.connect(port: node.port, "/ev/ch")
        defer { stream.close() }
        try await stream.drain(for: .milliseconds(1800))
        #expect(!stream.isClosed)
    }

    @Test func slowSubscriberIsCutOffWhileANormalOneGetsEverything() async throws {
        let node = try await HeraldProcess.start([
            "--max-subscriber-buffer", "64k", "--max-messages-stored-per-channel", "1000",
        ])
        defer { node.stop() }
        let slow = try await HTTPStream.connect(port: node.port, "/ev/firehose", receiveBuffer: 4096)
        defer { slow.close() }
        let normal = try await HTTPStream.connect(port: node.port, "/ev/firehose")
        defer { normal.close() }
        try #require(try await node.waitForSubscribers("firehose", count: 2))

        let count = 400
        let body = String(repeating: "x", count: 8000)
        let adminPort = node.adminPort
        async let published: Void = Blocking.run {
            let client = try RawHTTPClient(port: adminPort)
            defer { client.close() }
            for i in 1...count {
                let response = try client.request("POST", "/pub?id=firehose", body: Array("\(i):\(body)".utf8))
                guard response.status == 200 else { throw HarnessError("publish \(i): \(response.status)") }
            }
        }
        // The normal subscriber reads as it goes and must see every message, in order.
        let parser = SSEParser()
        let gotAll = try await Blocking.run { () -> Bool in
            let deadline = Deadline.after(.seconds(30))
            while parser.dataEvents.count < count {
                guard let bytes = try normal.readSome(deadline: deadline) else { return false }
                parser.feed(bytes)
            }
            return true
        }
        try await published
        #expect(gotAll)
        let ids = parser.dataEvents.map(\.id).map(CursorText.withoutGenerations)
        #expect(ids == (1...count).map { "hc:firehose:\($0)" })

        // The slow one was let go: its stream ends well before the last message.
        #expect(try await slow.readEnd(timeout: .seconds(10)))
        let received = SSEParser(slow.body).dataEvents.count
        #expect(received < count, "slow subscriber got \(received) of \(count)")
        let scrape = try await node.metrics()
        #expect(scrape.value("herald_slow_subscriber_disconnects_total") == 1)
        #expect((scrape.value("herald_slow_subscriber_dropped_bytes_total") ?? 0) > 0)
        #expect(try await node.waitForSubscribers("firehose", count: 1))
    }

    static let awkwardTexts = [
        #"say "hi""#, #"back\slash \n not a newline"#, "real\nnewline\r\nand\rcr", "tab\there",
        "emoji 🎉 and ünïcödé", "</script><script>alert(1)</script>", "control \u{01}\u{1F} bytes", "{\"json\": [1,2]}",
        "~text~ ~id~ placeholders",
    ]

    @Test func awkwardTextsStayValidJSONOnEveryTransport() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let texts = Self.awkwardTexts
        try await node.publishAll("awk", texts)
        let n = texts.count

        let events = try await HTTPStream.connect(port: node.port, "/ev/awk.b\(n)")
        defer { events.close() }
        #expect(try await events.readUntil { SSEParser($0.body).dataEvents.count >= n })
        let fromEvents = try SSEParser(events.body).dataEvents.map { try PushMessage.decode($0.data).text }
        #expect(fromEvents == texts)

        let poll = try await node.get("/lp/awk.b\(n)")
        #expect(try PushMessage.decodeConcatenated(poll.body).map(\.text) == texts)

        let jsonp = try await node.get("/jsonp/awk.b\(n)?callback=cb")
        #expect(try PushMessage.decodeJSONP(jsonp.text).messages.map(\.text) == texts)

        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/awk.b\(n)")
        defer { socket.close() }
        #expect(try await socket.readTextFrames(n))
        #expect(try socket.textFrames.map { try PushMessage.decode($0.payload).text } == texts)

        // Channel names and event ids are escaped too.
        try await node.publish("q\"uote", "x", eventID: "id \"with\" quotes\\")
        let quoted = try await node.get("/lp/q%22uote.b1")
        let message = try #require(try PushMessage.decodeConcatenated(quoted.body).first)
        #expect(message.channel == "q\"uote")
        #expect(message.eventID == "id \"with\" quotes\\")
    }

    @Test func clientResetMidStreamDoesNotDisturbOthers() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let stayer = try await HTTPStream.connect(port: node.port, "/ev/shared")
        defer { stayer.close() }
        for _ in 0..<10 {
            let leaver = try await HTTPStream.connect(port: node.port, "/ev/shared")
            leaver.connection.socket.abort()
            let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/shared")
            socket.connection.socket.abort()
        }
        try #require(try await node.waitForSubscribers("shared", count: 1))
        try await node.publish("shared", "still flowing")
        #expect(try await stayer.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
    }

    @Test func tricklingRequestIsClosedAfterTheRequestTimeout() async throws {
        // --request-timeout is the time a connection has to send a complete request: a client
        // sending one byte now and then (slowloris) must not keep it open.
        let node = try await HeraldProcess.start(["--request-timeout", "1s"])
        defer { node.stop() }
        let port = node.port
        let closedAfter = try await Blocking.run { () -> Duration? in
            let client = try RawHTTPClient(port: port)
            defer { client.close() }
            let started = ContinuousClock.now
            try client.socket.send("GET /sub/ch HTTP/1.1\r\n")
            for byte in Array("X-Slow: abcdefghijklmnopqrstuvwxyz".utf8) {
                if client.waitForClose(within: .milliseconds(250)) { return ContinuousClock.now - started }
                do { try client.socket.send([byte]) } catch { return ContinuousClock.now - started }
            }
            return nil
        }
        #expect(closedAfter != nil, "a trickling client kept its connection for 8 s with --request-timeout 1s")
        if let closedAfter { #expect(closedAfter < .seconds(3)) }
    }

    @Test func subscribersAreNotClosedByTheRequestTimeout() async throws {
        let node = try await HeraldProcess.start(["--request-timeout", "1s", "--longpolling-connection-ttl", "6s"])
        defer { node.stop() }
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/calm")
        defer { socket.close() }
        let stream = try await HTTPStream.connect(port: node.port, "/sub/calm")
        defer { stream.close() }
        let port = node.port
        async let longPoll = RawHTTPClient.request(port: port, "GET", "/lp/calm", timeout: .seconds(9))
        try #require(try await node.waitForSubscribers("calm", count: 3))
        try await Task.sleep(for: .milliseconds(1800))
        try await node.publish("calm", "still here")
        #expect(try await longPoll.status == 200)
        #expect(try await socket.readTextFrames(1))
        #expect(try await stream.readUntil { ScriptMessage.all(in: $0.text).count >= 1 })
    }

    @Test func disconnectedLongPollIsUnregistered() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let client = try RawHTTPClient(port: node.port)
        try client.send("GET", "/lp/gone")
        try #require(try await node.waitForSubscribers("gone", count: 1))
        client.socket.abort()
        #expect(try await node.waitForSubscribers("gone", count: 0))
        #expect(try await node.publish("gone", "nobody listens").status == 200)
    }

    @Test func requestsLargerThanTheFirstReadBufferAreServed() async throws {
        // 64 bytes take a browser-sized request (cookies) in several reads, each larger than the last.
        let node = try await HeraldProcess.start(["--initial-read-buffer", "64"])
        defer { node.stop() }
        let cookie = [("Cookie", String(repeating: "c", count: 3000)), ("User-Agent", "a browser")]
        let stream = try await HTTPStream.connect(port: node.port, "/ev/big", headers: cookie)
        defer { stream.close() }
        #expect(stream.status == 200)
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/big", extraHeaders: cookie)
        defer { socket.close() }
        #expect(socket.isAccepted)
        try #require(try await node.waitForSubscribers("big", count: 2))
        try await node.publish("big", "through")
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
        #expect(try await socket.readTextFrames(1))
        // Client frames after the upgrade are still read (a ping is answered).
        try await socket.sendAsync(0x9, payload: Array("p".utf8))
        #expect(try await socket.readUntil { $0.opcode == 0xA } != nil)
    }
}
