import Foundation
import HeraldTesting

extension ResumingSubscriber {
    /// The path with `?cursor=` once there is a position to resume from (what a browser's
    /// WebSocket or the forever-iframe can send: no headers).
    var resumingPath: String { hasPosition ? basePath + "?cursor=" + cursor : basePath }

    /// One WebSocket connection; text frames are messages of the JSON template.
    func readWebSocket() throws {
        let requested = ContinuousClock.now
        let socket = try WebSocketTestClient.open(port: port, resumingPath)
        defer { socket.close() }
        guard socket.isAccepted else {
            return fail("\(resumingPath): handshake \(socket.handshake.status) from \(node(socket.handshake))")
        }
        var connection = opened(requested: requested, head: socket.handshake)
        do {
            while !shouldStop() {
                switch try socket.next(deadline: .after(readSlice)) {
                case .frame(let frame) where frame.isClose:
                    return closed(connection, .closeFrame(frame.closeCode))
                case .frame(let frame) where frame.isText && frame.payload.first == UInt8(ascii: "{"):
                    record(try PushMessage.decode(frame.payload), in: &connection)
                case .frame, .timeout:
                    continue
                case .closed:
                    return closed(connection, .dropped)
                }
            }
        } catch {
            closed(connection, .dropped)
            throw error
        }
        closed(connection, .open)
    }

    /// One streaming connection: the iframe page, one `<script>p(id,'channel','text',…)</script>` per message.
    func readStreaming() throws {
        let requested = ContinuousClock.now
        let path = resumingPath
        let stream = try HTTPStream.open(port: port, path)
        defer { stream.close() }
        guard stream.status == 200 else {
            return fail("\(path): \(stream.status) \(stream.head.explain ?? "") from \(node(stream.head))")
        }
        var connection = opened(requested: requested, head: stream.head)
        var pending = ""
        do {
            while !shouldStop() {
                if let bytes = try stream.readSome(deadline: .after(readSlice)) {
                    pending += String(decoding: bytes, as: UTF8.self)
                    guard let end = pending.range(of: ");</script>", options: .backwards) else { continue }
                    for script in ScriptMessage.all(in: String(pending[..<end.upperBound])) {
                        let message = PushMessage(
                            id: script.id, channel: script.channel, text: script.text, tag: "", time: "", eventID: "")
                        record(message, in: &connection)
                    }
                    pending = String(pending[end.upperBound...])
                } else if stream.ended || stream.isClosed {
                    let footer = stream.text.hasSuffix("</body></html>")
                    return closed(connection, stream.sawLastChunk && footer ? .endOfStream : .dropped)
                }
            }
        } catch {
            closed(connection, .dropped)
            throw error
        }
        closed(connection, .open)
    }
}
