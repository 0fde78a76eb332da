import Foundation
import HeraldTesting
import Testing

/// `/lp`, `/jsonp` and the polling mode.
@Suite struct LongPollingTests {
    @Test func waitsForTheNextMessage() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publish("wait", "already stored")
        let port = node.port
        async let answer = RawHTTPClient.request(port: port, "GET", "/lp/wait", timeout: .seconds(10))
        try #require(try await node.waitForSubscribers("wait", count: 1))
        try await node.publish("wait", "fresh", eventID: "f1")
        let response = try await answer
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(response.headers["Cache-Control"] == "no-cache, no-store, must-revalidate")
        let messages = try PushMessage.decodeConcatenated(response.body)
        #expect(messages.map(\.text) == ["fresh"])
        #expect(messages.first?.id == 2)
        #expect(messages.first?.eventID == "f1")
        #expect(response.headers["Etag"] == "W/\(messages.first?.tag ?? "?")")
        #expect(response.headers["Last-Modified"] == messages.first?.time)
    }

    @Test func storedMessagesComeAtOnceAndTheEtagResumesExactly() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        for i in 1...3 { try await node.publish("lp", "m\(i)") }
        let all = try await node.get("/lp/lp", headers: [("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")])
        #expect(all.status == 200)
        let messages = try PushMessage.decodeConcatenated(all.body)
        #expect(messages.map(\.text) == ["m1", "m2", "m3"])
        let lastModified = try #require(all.headers["Last-Modified"])
        let etag = try #require(all.headers["Etag"])
        #expect(lastModified == messages.last?.time)
        #expect(etag == "W/\(messages.last?.tag ?? "")")

        // From (Last-Modified, Etag) of message 3: nothing stored yet, so it waits for message 4.
        let port = node.port
        async let next = RawHTTPClient.request(
            port: port, "GET", "/lp/lp", headers: [("If-Modified-Since", lastModified), ("If-None-Match", etag)],
            timeout: .seconds(10))
        try #require(try await node.waitForSubscribers("lp", count: 1))
        try await node.publish("lp", "m4")
        #expect(try PushMessage.decodeConcatenated(try await next.body).map(\.text) == ["m4"])

        // From message 2's (time, tag): exactly 3 and 4.
        let second = messages[1]
        let after2 = try await node.get(
            "/lp/lp", headers: [("If-Modified-Since", second.time), ("If-None-Match", "W/\(second.tag)")])
        #expect(try PushMessage.decodeConcatenated(after2.body).map(\.text) == ["m3", "m4"])
    }

    @Test func timeoutAnswers304WithWeakZeroEtag() async throws {
        let node = try await HeraldProcess.start(["--longpolling-connection-ttl", "1s"])
        defer { node.stop() }
        let started = ContinuousClock.now
        let response = try await node.get("/lp/quiet")
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 304)
        #expect(response.body.isEmpty)
        #expect(response.headers["Etag"] == "W/0")
        #expect(response.headers["Last-Modified"].flatMap(HTTPDates.parse) != nil)
        #expect(elapsed >= .milliseconds(900))
        #expect(elapsed < .seconds(4))
    }

    @Test func timeoutWithBodyAnswers200WithTheTimedOutMessage() async throws {
        let node = try await HeraldProcess.start(["--longpolling-connection-ttl", "1s", "--timeout-with-body"])
        defer { node.stop() }
        let response = try await node.get("/lp/quiet")
        #expect(response.status == 200)
        #expect(response.headers["Etag"] == "W/0")
        let messages = try PushMessage.decodeConcatenated(response.body)
        #expect(messages.map(\.id) == [-3])
        #expect(messages.first?.text == "Timed out")
        #expect(messages.first?.channel == "")
    }

    @Test func jsonpWrapsTheMessagesInTheCallback() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publish("j", "j1")
        try await node.publish("j", "j2")
        let response = try await node.get("/jsonp/j.b2?callback=cb")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/javascript")
        let decoded = try PushMessage.decodeJSONP(response.text)
        #expect(decoded.callback == "cb")
        #expect(decoded.messages.map(\.text) == ["j1", "j2"])

        // /jsonp always reads the resume arguments: tag as a cursor.
        let after1 = try await node.get("/jsonp/j?callback=fn&tag=hc:j:1")
        #expect(try PushMessage.decodeJSONP(after1.text).messages.map(\.text) == ["j2"])
        // /lp with a callback is JSONP too.
        let lp = try await node.get("/lp/j.b1?callback=other")
        #expect(try PushMessage.decodeJSONP(lp.text).callback == "other")
    }

    @Test func pollingModeAnswersAtOnce() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let polling = [("X-Nginx-PushStream-Mode", "Polling")]
        let started = ContinuousClock.now
        let empty = try await node.get("/sub/p", headers: polling)
        #expect(empty.status == 304)
        #expect(empty.body.isEmpty)
        #expect(ContinuousClock.now - started < .seconds(2))

        try await node.publish("p", "p1")
        try await node.publish("p", "p2")
        let stored = try await node.get(
            "/ev/p", headers: polling + [("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")])
        #expect(stored.status == 200)
        let messages = try PushMessage.decodeConcatenated(stored.body)
        #expect(messages.map(\.text) == ["p1", "p2"])
        let etag = try #require(stored.headers["Etag"])
        let lastModified = try #require(stored.headers["Last-Modified"])
        let none = try await node.get(
            "/sub/p", headers: polling + [("If-Modified-Since", lastModified), ("If-None-Match", etag)])
        #expect(none.status == 304)
        #expect(none.headers["Etag"] == etag)
        #expect(none.headers["Last-Modified"] == lastModified)

        // The header also switches a streaming location to long-polling.
        let port = node.port
        async let waited = RawHTTPClient.request(
            port: port, "GET", "/sub/p", headers: [("X-Nginx-PushStream-Mode", "long-polling")], timeout: .seconds(10))
        try #require(try await node.waitForSubscribers("p", count: 1))
        try await node.publish("p", "p3")
        let answer = try await waited
        #expect(answer.status == 200)
        #expect(try PushMessage.decodeConcatenated(answer.body).map(\.text) == ["p3"])
    }

    @Test func severalChannelsUseACursorEtag() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        try await node.publish("a", "a1")
        try await node.publish("b", "b1")
        try await node.publish("a", "a2")
        let first = try await node.get("/lp/a.b9/b.b9")
        #expect(try PushMessage.decodeConcatenated(first.body).map(\.text) == ["a1", "b1", "a2"])
        #expect(
            first.headers["Etag"].map { "W/" + CursorText.withoutGenerations(String($0.dropFirst(2)))! }
                == "W/hc:a:2,b:1")

        try await node.publish("b", "b2")
        let next = try await node.get("/lp/a/b", headers: [("If-None-Match", "W/\"hc:a:2,b:1\"")])
        #expect(try PushMessage.decodeConcatenated(next.body).map(\.text) == ["b2"])
        #expect(
            next.headers["Etag"].map { "W/" + CursorText.withoutGenerations(String($0.dropFirst(2)))! }
                == "W/hc:a:2,b:2")
    }

    @Test func tagsArePerChannel() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        // Each channel counts its own tags within a second: a message to another channel in
        // between does not move them. (In the second a channel is made, its tags count on from
        // the microsecond it was made at: docs/PROTOCOL.md.) A loaded machine may cross a second
        // boundary in between, so a few attempts.
        var sameSecond = false
        for attempt in 1...5 where !sameSecond {
            try await WallClock.sleepUntilTheNextSecond()
            try await node.publishAll("first\(attempt)", ["f1"])
            try await node.publishAll("second\(attempt)", ["s1"])
            try await node.publishAll("first\(attempt)", ["f2"])
            let first = try PushMessage.decodeConcatenated(try await node.get("/lp/first\(attempt).b2").body)
            try #require(first.count == 2)
            guard first[0].time == first[1].time else { continue }
            sameSecond = true
            let tags = first.compactMap { Int($0.tag) }
            #expect(tags.count == 2 && tags[1] == tags[0] + 1, "\(first)")

            // In a later second, tags start at 1.
            try await WallClock.sleepUntilTheNextSecond()
            try await node.publishAll("first\(attempt)", ["f3", "f4"])
            let later = try PushMessage.decodeConcatenated(try await node.get("/lp/first\(attempt).b2").body)
            if later[0].time == later[1].time { #expect(later.map(\.tag) == ["1", "2"], "\(later)") }
            #expect(later[0].time != first[0].time)
        }
        #expect(sameSecond, "no attempt published within one second")
    }

    @Test func barePollingAnswer304HasNoValidators() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let response = try await node.get("/lp/nothing", headers: [("X-Nginx-PushStream-Mode", "polling")])
        #expect(response.status == 304)
        #expect(response.headers["Etag"] == nil)
        #expect(response.headers["Last-Modified"] == nil)
    }

    @Test func jsonpTimeoutWithBodyIsWrapped() async throws {
        let node = try await HeraldProcess.start(["--longpolling-connection-ttl", "1s", "--timeout-with-body"])
        defer { node.stop() }
        let response = try await node.get("/jsonp/idle?callback=cb")
        #expect(response.status == 200)
        let decoded = try PushMessage.decodeJSONP(response.text)
        #expect(decoded.callback == "cb")
        #expect(decoded.messages.map(\.id) == [-3])
    }

    @Test func keepAliveLongPollsOnOneConnection() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        for i in 1...3 { try await node.publish("ka", "k\(i)") }
        let texts = try await Blocking.run { () -> [String] in
            let client = try RawHTTPClient(port: node.port)
            defer { client.close() }
            var texts: [String] = []
            var headers = [("If-None-Match", "hc:ka:0")]
            for _ in 0..<3 {
                let response = try client.request("GET", "/lp/ka", headers: headers)
                let messages = try PushMessage.decodeConcatenated(response.body)
                texts += messages.map(\.text)
                headers = [
                    ("If-Modified-Since", response.headers["Last-Modified"] ?? ""),
                    ("If-None-Match", response.headers["Etag"] ?? ""),
                ]
                if texts.count >= 3 { break }
            }
            return texts
        }
        #expect(texts == ["k1", "k2", "k3"])
    }
}
