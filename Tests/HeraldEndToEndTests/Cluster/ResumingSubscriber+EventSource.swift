import Foundation
import HeraldTesting

extension ResumingSubscriber {
    /// One EventSource connection: sends the last `id:` back as `Last-Event-ID`, as a browser does.
    func readEventSource() throws {
        var headers: [(String, String)] = []
        if let lastEventID {
            headers = [("Last-Event-ID", lastEventID)]
        } else if hasPosition {
            headers = [("Last-Event-ID", cursor)]
        }
        let requested = ContinuousClock.now
        let stream = try HTTPStream.open(port: port, basePath, headers: headers)
        defer { stream.close() }
        guard stream.status == 200 else {
            return fail("\(basePath): \(stream.status) \(stream.head.explain ?? "") from \(node(stream.head))")
        }
        var connection = opened(requested: requested, head: stream.head)
        let parser = SSEParser()
        var consumed = 0
        do {
            while !shouldStop() {
                if let bytes = try stream.readSome(deadline: .after(readSlice)) {
                    parser.feed(bytes)
                    while consumed < parser.items.count {
                        if case .event(let event) = parser.items[consumed] { try take(event, &connection) }
                        consumed += 1
                    }
                } else if stream.ended || stream.isClosed {
                    return closed(connection, Self.ending(of: stream))
                }
            }
        } catch {
            closed(connection, .dropped)
            throw error
        }
        closed(connection, .open)
    }

    private func take(_ event: SSEEvent, _ connection: inout ConnectionRecord) throws {
        // A browser keeps the last id even from an event without data.
        if let id = event.id { lastEventID = id }
        guard !event.dataLines.isEmpty else { return }
        let message = try PushMessage.decode(event.data)
        if plan.channels.count == 1, message.id > 0,
            CursorText.withoutGenerations(event.id) != "hc:\(message.channel):\(message.id)"
        {
            outcome.log.problems.append("event id \(event.id ?? "none") for message \(message.id)")
        }
        record(message, in: &connection)
    }

    /// How an EventSource stream ended: a `retry:` hint first, a proper end, or cut off.
    static func ending(of stream: HTTPStream) -> ConnectionRecord.Ending {
        for line in stream.text.split(separator: "\n") where line.hasPrefix("retry:") {
            if let ms = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) { return .retryHint(ms) }
        }
        return stream.sawLastChunk ? .endOfStream : .dropped
    }

    func node(_ head: HTTPHead) -> String { head.headers["X-Herald-Node"] ?? "no node" }
}
