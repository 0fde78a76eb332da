import Foundation
import HeraldTesting

/// Runs one ``SubscriberPlan`` on the calling thread (blocking sockets, every read bounded) until
/// it has every channel's final id, or the deadline passes.
struct SubscriberRunner {
    let plan: SubscriberPlan
    let port: UInt16
    let adminPort: UInt16
    let finish: FinishLine
    let deadline: Deadline
    let readSlice: Duration = .milliseconds(200)

    func run() -> ReceivedLog {
        var log = ReceivedLog(plan: plan)
        do {
            try connectAndRead(&log)
        } catch {
            log.problems.append("failed: \(error)")
        }
        return log
    }

    /// Whether to stop reading: complete, or out of time (recorded as a problem).
    private func shouldStop(_ log: inout ReceivedLog) -> Bool {
        if let final = finish.finalIDs, log.isComplete(final: final) { return true }
        if deadline.hasPassed {
            log.problems.append("timed out before receiving everything")
            return true
        }
        return false
    }

    /// Each channel's last id right now (0 for a channel that does not exist yet).
    private func lastIDs() throws -> [String: Int] {
        let client = try RawHTTPClient(port: adminPort)
        defer { client.close() }
        var ids: [String: Int] = [:]
        for channel in plan.channels {
            let response = try client.request("GET", "/pub?id=\(channel)")
            ids[channel] =
                response.status == 200 ? JSON.int(try JSON.object(response.body)["published_messages"]) ?? 0 : 0
        }
        return ids
    }

    private func cursor(_ positions: [String: Int]) -> String {
        "hc:" + plan.channels.map { "\($0):\(positions[$0] ?? 0)" }.joined(separator: ",")
    }

    private func connectAndRead(_ log: inout ReceivedLog) throws {
        let before = try lastIDs()
        var headers: [(String, String)] = []
        var pathChannels = plan.channels
        switch plan.resume {
        case .live:
            log.baseline = before
            log.minimumFirst = before.mapValues { $0 + 1 }
        case .backtrack(let count):
            pathChannels = plan.channels.map { "\($0).b\(count)" }
            log.baseline = before.mapValues { max(0, $0 - count) }
            log.minimumFirst = before.mapValues { max(1, $0 - count + 1) }
        case .cursor(let back):
            let positions = before.mapValues { max(0, $0 - back) }
            log.baseline = positions
            log.expectedFirst = positions.mapValues { $0 + 1 }
            headers = [(plan.transport == .longPolling ? "If-None-Match" : "Last-Event-ID", cursor(positions))]
        case .timeTag(let back):
            let positions = before.mapValues { max(0, $0 - back) }
            log.baseline = positions
            log.expectedFirst = positions.mapValues { $0 + 1 }
            headers = [("Last-Event-ID", cursor(positions))]
            // Poll what follows the cursor, then continue from the poll's time and tag.
            let poll = try RawHTTPClient.requestSync(
                port: port, "/lp/\(plan.channels.joined(separator: "/"))",
                headers: [("X-Nginx-PushStream-Mode", "polling"), ("If-None-Match", cursor(positions))])
            if poll.status == 200, let since = poll.headers["Last-Modified"], let tag = poll.headers["Etag"] {
                for message in try PushMessage.decodeConcatenated(poll.body) { log.record(message) }
                headers = [("If-Modified-Since", since), ("If-None-Match", tag)]
            }
        }
        let path = "/\(plan.transport.rawValue)/" + pathChannels.joined(separator: "/")
        switch plan.transport {
        case .eventSource: try readEventSource(path, headers, &log)
        case .streaming: try readStreaming(path, headers, &log)
        case .webSocket: try readWebSocket(path, headers, &log)
        case .longPolling: try longPollLoop(path, headers, &log)
        }
    }

    /// The cursor of everything received so far (the baseline for channels with nothing yet).
    private func resumeHeader(_ log: ReceivedLog) -> (String, String) {
        (
            "Last-Event-ID",
            cursor(
                Dictionary(uniqueKeysWithValues: plan.channels.map { ($0, log.ids[$0]?.last ?? log.baseline[$0] ?? 0) })
            )
        )
    }

    /// Opens a streaming or EventSource connection that must answer 200.
    private func openStream(_ path: String, _ headers: [(String, String)]) throws -> HTTPStream {
        let stream = try HTTPStream.open(port: port, path, headers: headers)
        guard stream.status == 200 else {
            stream.close()
            throw HarnessError("status \(stream.status) \(stream.head.explain ?? "")")
        }
        return stream
    }

    /// Paths after the first connection: backtrack is for the first connect only.
    private func reconnectPath() -> String {
        "/\(plan.transport.rawValue)/" + plan.channels.joined(separator: "/")
    }

    private func readEventSource(_ path: String, _ headers: [(String, String)], _ log: inout ReceivedLog) throws {
        var path = path
        var headers = headers
        while true {
            let stream = try openStream(path, headers)
            defer { stream.close() }
            let parser = SSEParser()
            var consumed = 0
            var received = 0
            var lastEventID: String?
            func take(_ log: inout ReceivedLog) throws {
                while consumed < parser.items.count {
                    if case .event(let event) = parser.items[consumed], !event.dataLines.isEmpty {
                        let message = try PushMessage.decode(event.data)
                        log.record(message)
                        received += 1
                        if let id = event.id { lastEventID = id }
                        if plan.channels.count == 1,
                            CursorText.withoutGenerations(event.id) != "hc:\(message.channel):\(message.id)"
                        {
                            log.problems.append("event id \(event.id ?? "none") for message \(message.id)")
                        }
                    }
                    consumed += 1
                }
            }
            var reconnect = false
            while !shouldStop(&log) {
                if let limit = plan.reconnectAfter, received >= limit {
                    reconnect = true
                    break
                }
                if let bytes = try stream.readSome(deadline: .after(readSlice)) {
                    parser.feed(bytes)
                    try take(&log)
                } else if stream.ended {
                    log.problems.append("stream ended early")
                    return
                }
            }
            guard reconnect else {
                while let bytes = try stream.readSome(deadline: .after(.milliseconds(150))) { parser.feed(bytes) }
                try take(&log)
                return
            }
            // As a browser does: the last `id:` line comes back as Last-Event-ID.
            path = reconnectPath()
            headers = [("Last-Event-ID", lastEventID ?? resumeHeader(log).1)]
        }
    }

    private func readStreaming(_ path: String, _ headers: [(String, String)], _ log: inout ReceivedLog) throws {
        var path = path
        var headers = headers
        while true {
            let stream = try openStream(path, headers)
            defer { stream.close() }
            var pending = ""
            var received = 0
            func take(_ bytes: [UInt8], _ log: inout ReceivedLog) {
                pending += String(decoding: bytes, as: UTF8.self)
                guard let end = pending.range(of: ");</script>", options: .backwards) else { return }
                for script in ScriptMessage.all(in: String(pending[..<end.upperBound])) {
                    log.record(
                        PushMessage(
                            id: script.id, channel: script.channel, text: script.text, tag: "", time: "", eventID: ""))
                    received += 1
                }
                pending = String(pending[end.upperBound...])
            }
            var reconnect = false
            while !shouldStop(&log) {
                if let limit = plan.reconnectAfter, received >= limit {
                    reconnect = true
                    break
                }
                if let bytes = try stream.readSome(deadline: .after(readSlice)) {
                    take(bytes, &log)
                } else if stream.ended {
                    log.problems.append("stream ended early")
                    return
                }
            }
            guard reconnect else {
                while let bytes = try stream.readSome(deadline: .after(.milliseconds(150))) { take(bytes, &log) }
                return
            }
            path = reconnectPath()
            headers = [resumeHeader(log)]
        }
    }

    private func readWebSocket(_ path: String, _ headers: [(String, String)], _ log: inout ReceivedLog) throws {
        var path = path
        var headers = headers
        while true {
            let socket = try WebSocketTestClient.open(port: port, path, extraHeaders: headers)
            defer { socket.close() }
            guard socket.isAccepted else { throw HarnessError("handshake \(socket.handshake.status)") }
            var received = 0
            func handle(_ event: WebSocketTestClient.Event, _ log: inout ReceivedLog) throws -> Bool {
                switch event {
                case .frame(let frame):
                    if frame.isText {
                        log.record(try PushMessage.decode(frame.payload))
                        received += 1
                    }
                    if frame.isClose {
                        log.problems.append("closed by the server: \(frame.closeCode ?? 0) \(frame.closeReason)")
                    }
                    return !frame.isClose
                case .timeout: return true
                case .closed:
                    log.problems.append("connection closed early")
                    return false
                }
            }
            var reconnect = false
            while !shouldStop(&log) {
                if let limit = plan.reconnectAfter, received >= limit {
                    reconnect = true
                    break
                }
                guard try handle(try socket.next(deadline: .after(readSlice)), &log) else { return }
            }
            guard reconnect else {
                while case .frame(let frame) = try socket.next(deadline: .after(.milliseconds(150))) {
                    _ = try handle(.frame(frame), &log)
                }
                return
            }
            path = reconnectPath()
            headers = [resumeHeader(log)]
        }
    }

    private func longPollLoop(_ path: String, _ initial: [(String, String)], _ log: inout ReceivedLog) throws {
        var headers = initial
        var client = try RawHTTPClient(port: port, timeout: .seconds(8))
        defer { client.close() }
        while !shouldStop(&log) {
            let response: HTTPResponse
            do {
                response = try client.request("GET", path, headers: headers)
            } catch {
                // The server may close a keep-alive connection; reconnect and ask again.
                client.close()
                client = try RawHTTPClient(port: port, timeout: .seconds(8))
                response = try client.request("GET", path, headers: headers)
            }
            switch response.status {
            case 200:
                for message in try PushMessage.decodeConcatenated(response.body) { log.record(message) }
                guard let since = response.headers["Last-Modified"], let etag = response.headers["Etag"] else {
                    throw HarnessError("200 without Last-Modified/Etag")
                }
                headers = [("If-Modified-Since", since), ("If-None-Match", etag)]
            case 304:
                // Timed out: several channels get an exact cursor back; one channel keeps its time and tag.
                if plan.channels.count > 1, let etag = response.headers["Etag"] {
                    headers = [("If-None-Match", etag)]
                }
            default:
                throw HarnessError("long-poll answered \(response.status)")
            }
        }
    }
}

extension RawHTTPClient {
    /// One GET on a fresh connection, blocking.
    static func requestSync(port: UInt16, _ path: String, headers: [(String, String)] = []) throws -> HTTPResponse {
        let client = try RawHTTPClient(port: port)
        defer { client.close() }
        return try client.request("GET", path, headers: headers)
    }
}
