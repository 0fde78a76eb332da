import Histogram
import NIOConcurrencyHelpers
import NIOCore

/// One message to publish: its channel and its sequence number within that channel.
struct BenchMessage: Sendable {
    let channel: String
    let sequence: Int
}

/// What the publishers measured, shared by all their connections.
final class BenchPublishTally: Sendable {
    private struct State {
        var done = 0
        var failed = 0
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000_000)
    }

    private let state = NIOLockedValueBox(State())

    func record(ok: Bool, nanoseconds: UInt64) {
        state.withLockedValue { state in
            state.done += 1
            if !ok { state.failed += 1 }
            _ = state.latency.record(nanoseconds)
        }
    }

    var done: Int { state.withLockedValue { $0.done } }
    var failed: Int { state.withLockedValue { $0.failed } }
    var latency: Histogram<UInt64> { state.withLockedValue { $0.latency } }
}

/// A keep-alive publisher connection with pipelined requests (answers come back in order, so a
/// channel's messages keep their order); a message and its send time are rendered when the request
/// is written, so waiting in the queue does not count as latency.
final class BenchPublisherConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let url: BenchURL
    private let size: Int
    private let tally: BenchPublishTally
    private var queue: [BenchMessage] = []
    private var queueHead = 0
    private var context: ChannelHandlerContext?
    private var inFlight: [UInt64] = []
    private let maxInFlight: Int
    private var response: [UInt8] = []
    private var bodyRemaining: Int?
    private var status = 0

    init(url: BenchURL, size: Int, maxInFlight: Int, tally: BenchPublishTally) {
        self.maxInFlight = maxInFlight
        self.url = url
        self.size = size
        self.tally = tally
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        sendNext()
        context.fireChannelActive()
    }

    /// Queues messages; on the connection's loop.
    func enqueue(_ messages: [BenchMessage]) {
        queue += messages
        sendNext()
    }

    private func sendNext() {
        guard let context else { return }
        var wrote = false
        while inFlight.count < maxInFlight, queueHead < queue.count {
            write(context: context)
            wrote = true
        }
        if wrote { context.flush() }
    }

    private func write(context: ChannelHandlerContext) {
        let message = queue[queueHead]
        queueHead += 1
        if queueHead > 1024 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        let now = NIODeadline.now().uptimeNanoseconds
        let body = BenchMarker.message(sequence: message.sequence, sentNanoseconds: now, size: size)
        var request = context.channel.allocator.buffer(capacity: body.count + 160)
        request.writeString("POST \(url.path(channel: message.channel)) HTTP/1.1\r\nHost: \(url.host)\r\n")
        request.writeString("Content-Length: \(body.count)\r\n\r\n")
        request.writeBytes(body)
        inFlight.append(now)
        context.write(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        while buffer.readableBytes > 0 {
            if let remaining = bodyRemaining {
                let take = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: take)
                bodyRemaining = remaining - take
                if bodyRemaining == 0 { finishResponse() }
                continue
            }
            response += buffer.readBytes(length: buffer.readableBytes)!
            guard let end = BenchMarker.headEnd(response) else { return }
            let head = String(decoding: response[..<end], as: UTF8.self)
            let rest = Array(response[end...])
            response = []
            status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            var length = 0
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                length = Int(line.dropFirst(15).filter { $0 != " " }) ?? 0
            }
            bodyRemaining = length
            if length == 0 { finishResponse() }
            buffer = ByteBuffer(bytes: rest)
        }
    }

    private func finishResponse() {
        bodyRemaining = nil
        if !inFlight.isEmpty {
            let since = inFlight.removeFirst()
            tally.record(ok: (200..<300).contains(status), nanoseconds: NIODeadline.now().uptimeNanoseconds - since)
        }
        sendNext()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
