import Foundation
import HeraldPublisher
import HeraldRedis
import HeraldTesting
import Logging
import NIOPosix

/// One EventSource event with its decoded message.
struct ReceivedEvent: Sendable, CustomStringConvertible {
    var id: String?
    var event: String?
    var message: PushMessage

    var description: String { "\(id ?? "no id") \(event.map { "[\($0)] " } ?? "")\(message)" }
}

/// What each kind of subscriber has received so far, decoded.
enum Received {
    static func events(_ stream: HTTPStream) throws -> [ReceivedEvent] {
        try SSEParser(stream.body).dataEvents.map {
            ReceivedEvent(id: $0.id, event: $0.event, message: try PushMessage.decode($0.data))
        }
    }

    static func scripts(_ stream: HTTPStream) -> [ScriptMessage] {
        ScriptMessage.all(in: stream.text)
    }

    static func frames(_ socket: WebSocketTestClient) throws -> [PushMessage] {
        try socket.textFrames.map { try PushMessage.decode($0.payload) }
    }

    /// Reads an EventSource stream until it holds `count` data events, then `settle` longer (so a
    /// duplicate would show); returns them all.
    static func events(
        _ stream: HTTPStream, count: Int, timeout: Duration = .seconds(10), settle: Duration = .milliseconds(300)
    ) async throws -> [ReceivedEvent] {
        _ = try await stream.readUntil(timeout: timeout) { SSEParser($0.body).dataEvents.count >= count }
        try await stream.drain(for: settle)
        return try events(stream)
    }

    static func scripts(
        _ stream: HTTPStream, count: Int, timeout: Duration = .seconds(10), settle: Duration = .milliseconds(300)
    ) async throws -> [ScriptMessage] {
        _ = try await stream.readUntil(timeout: timeout) { ScriptMessage.all(in: $0.text).count >= count }
        try await stream.drain(for: settle)
        return scripts(stream)
    }

    static func frames(
        _ socket: WebSocketTestClient, count: Int, timeout: Duration = .seconds(10),
        settle: Duration = .milliseconds(300)
    ) async throws -> [PushMessage] {
        _ = try await socket.readTextFrames(count, timeout: timeout)
        _ = try await Blocking.run { try socket.read(timeout: settle) { _ in false } }
        return try frames(socket)
    }
}

/// A long-polling client as push-stream's JavaScript client runs it: the first request waits for
/// the next message, each later one resumes with the previous answer's `Last-Modified` and `Etag`.
enum LongPoller {
    /// Polls `path` until `count` messages arrived or `timeout` passed; returns what arrived.
    static func collect(port: UInt16, _ path: String, count: Int, timeout: Duration) async throws -> [PushMessage] {
        try await collect(port: port, path, timeout: timeout) { $0.count >= count }
    }

    /// Polls `path` until a message with text `last` arrived or `timeout` passed.
    static func collect(
        port: UInt16, _ path: String, until last: String, timeout: Duration
    ) async throws
        -> [PushMessage]
    {
        try await collect(port: port, path, timeout: timeout) { $0.last?.text == last }
    }

    private static func collect(
        port: UInt16, _ path: String, timeout: Duration, done: @escaping @Sendable ([PushMessage]) -> Bool
    ) async throws -> [PushMessage] {
        try await Blocking.run {
            let deadline = Deadline.after(timeout)
            var messages: [PushMessage] = []
            var headers: [(String, String)] = []
            var client = try RawHTTPClient(port: port, timeout: .seconds(8))
            defer { client.close() }
            while !done(messages) && !deadline.hasPassed {
                let response: HTTPResponse
                do {
                    response = try client.request("GET", path, headers: headers)
                } catch {
                    // The server may close a keep-alive connection; ask again on a new one.
                    client.close()
                    client = try RawHTTPClient(port: port, timeout: .seconds(8))
                    continue
                }
                switch response.status {
                case 200:
                    messages += try PushMessage.decodeConcatenated(response.body)
                    guard let since = response.headers["Last-Modified"], let etag = response.headers["Etag"] else {
                        throw HarnessError("long-poll 200 without Last-Modified/Etag: \(response)")
                    }
                    headers = [("If-Modified-Since", since), ("If-None-Match", etag)]
                case 304:
                    continue
                case 500...:
                    // Redis is away (a restart): ask again shortly, as push-stream's client does.
                    Thread.sleep(forTimeInterval: 0.1)
                    continue
                default:
                    throw HarnessError("long-poll answered \(response)")
                }
            }
            return messages
        }
    }
}

/// Herald's publisher library on one Redis connection, as an application links it.
struct LibraryPublisher: Sendable {
    let connection: RedisConnection
    let publisher: HeraldPublisher

    static func connect(
        to redis: RedisServerProcess, settings: HeraldPublisher.Settings = .init()
    ) async throws -> LibraryPublisher {
        let connection = try await RedisConnection.connect(
            to: RedisURL(redis.url), on: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "herald.e2e.publisher")
        ).get()
        let publisher = HeraldPublisher(redis: connection, settings: settings)
        return LibraryPublisher(connection: connection, publisher: publisher)
    }

    func close() { _ = connection.close() }
}
