import Histogram
import NIOCore

/// What one event loop's subscribers have seen; touched only on that loop.
final class BenchLoopTally {
    var ready = 0
    /// Subscribers answered with anything but 200 (EventSource) or 101 (WebSocket).
    var refused = 0
    var received = 0
    var complete = 0
    var duplicates = 0
    var gaps = 0
    var disconnected = 0
    var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000_000)
}

/// The subscriber transports the bench speaks.
enum BenchTransport: String, Sendable, CaseIterable {
    case sse, ws, lp
}

/// One subscriber connection: sends its request, waits for the response head (or the `101`), then
/// finds message markers in the byte stream, checking every message arrives once and in order.
/// Long-polling answers are framed by Content-Length and polled again with their Etag/Last-Modified.
final class BenchSubscriber: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let transport: BenchTransport
    private let host: String
    private let path: String
    private let expected: Int
    private let tally: BenchLoopTally
    private var scanner = BenchMarker.Scanner()
    private var last = 0
    private var received = 0
    private var ready = false
    private var head: [UInt8] = []
    // Long-polling
    private var bodyRemaining = 0
    private var inBody = false
    private var etag: String?
    private var lastModified: String?

    init(transport: BenchTransport, host: String, path: String, expected: Int, tally: BenchLoopTally) {
        self.transport = transport
        self.host = host
        self.path = path
        self.expected = expected
        self.tally = tally
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        if transport == .lp {
            // A long-poll's answer is its first message: it is ready once asked.
            ready = true
            tally.ready += 1
        }
        context.fireChannelActive()
    }

    private func sendRequest(context: ChannelHandlerContext) {
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        switch transport {
        case .ws:
            request += "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        case .lp:
            if let etag { request += "If-None-Match: \(etag)\r\n" }
            if let lastModified { request += "If-Modified-Since: \(lastModified)\r\n" }
        case .sse:
            request += "Accept: text/event-stream\r\n"
        }
        request += "\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if transport == .lp { return readLongPoll(context: context, buffer: &buffer) }
        if !ready {
            head += buffer.readableBytesView
            guard let end = BenchMarker.headEnd(head) else { return }
            ready = true
            tally.ready += 1
            let status = head.split(separator: 0x20).dropFirst().first.map { String(decoding: $0, as: UTF8.self) }
            guard status == (transport == .ws ? "101" : "200") else {
                tally.refused += 1
                context.close(promise: nil)
                return
            }
            scan(head[end...])
            head = []
            return
        }
        scan(buffer.readableBytesView)
    }

    private func readLongPoll(context: ChannelHandlerContext, buffer: inout ByteBuffer) {
        while buffer.readableBytes > 0 {
            if inBody {
                let take = min(bodyRemaining, buffer.readableBytes)
                scan(buffer.readSlice(length: take)!.readableBytesView)
                bodyRemaining -= take
                if bodyRemaining == 0 {
                    inBody = false
                    if received < expected { sendRequest(context: context) }
                }
                continue
            }
            head += buffer.readBytes(length: buffer.readableBytes)!
            guard let end = BenchMarker.headEnd(head) else { return }
            let text = String(decoding: head[..<end], as: UTF8.self)
            let rest = Array(head[end...])
            head = []
            if !ready {
                ready = true
                tally.ready += 1
            }
            for line in text.split(separator: "\r\n") {
                let lower = line.lowercased()
                if lower.hasPrefix("etag:") { etag = String(line.dropFirst(5)).trimmingSpaces }
                if lower.hasPrefix("last-modified:") { lastModified = String(line.dropFirst(14)).trimmingSpaces }
                if lower.hasPrefix("content-length:") { bodyRemaining = Int(line.dropFirst(15).trimmingSpaces) ?? 0 }
            }
            inBody = true
            if bodyRemaining == 0 {
                inBody = false
                sendRequest(context: context)
            }
            buffer = ByteBuffer(bytes: rest)
        }
    }

    private func scan(_ bytes: some Collection<UInt8>) {
        scanner.scan(bytes) { sequence, sent in
            if sequence == last + 1 {
                last = sequence
            } else if sequence <= last {
                tally.duplicates += 1
                return
            } else {
                tally.gaps += 1
                last = sequence
            }
            received += 1
            tally.received += 1
            let now = NIODeadline.now().uptimeNanoseconds
            if now > sent { _ = tally.latency.record(now - sent) }
            if received == expected { tally.complete += 1 }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if received < expected { tally.disconnected += 1 }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String { String(self).trimmingSpaces }
}
