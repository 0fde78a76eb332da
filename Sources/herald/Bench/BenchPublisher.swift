import Histogram
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

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
        /// The run is over: publishers neither connect again nor send what is still queued.
        var stopped = false
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

    /// Ends the publishing, before the event loops shut down (a reconnect scheduled on a loop that
    /// is gone fails loudly).
    func stop() {
        state.withLockedValue { $0.stopped = true }
    }

    var isStopped: Bool { state.withLockedValue { $0.stopped } }
    var done: Int { state.withLockedValue { $0.done } }
    var failed: Int { state.withLockedValue { $0.failed } }
    var latency: Histogram<UInt64> { state.withLockedValue { $0.latency } }
}

/// A keep-alive publisher connection with pipelined requests (answers come back in order, so a
/// channel's messages keep their order); a message and its send time are rendered when the request
/// is written, so waiting in the queue does not count as latency.
///
/// Until the first answer shows the server keeps connections open, one request is in flight. A
/// server that closes after each answer (`Connection: close`, as Pushpin's publish API does) gets
/// one request per connection, and the publisher connects again for the next.
final class BenchPublisherConnection {
    private let url: BenchURL
    private let body: BenchPublishBody?
    private let size: Int
    private let tally: BenchPublishTally
    private let loop: any EventLoop
    private var queue: [BenchMessage] = []
    private var queueHead = 0
    private var context: ChannelHandlerContext?
    private var connecting = false
    private var inFlight: [UInt64] = []
    private let maxInFlight: Int
    /// Learnt from the first answer: nil until then.
    private var keepsAlive: Bool?
    private var writtenOnSocket = 0
    private var response: [UInt8] = []
    private var bodyRemaining: Int?
    private var status = 0
    private var closing = false

    init(
        url: BenchURL, body: BenchPublishBody?, size: Int, maxInFlight: Int, tally: BenchPublishTally,
        loop: any EventLoop
    ) {
        self.maxInFlight = maxInFlight
        self.url = url
        self.body = body
        self.size = size
        self.tally = tally
        self.loop = loop
    }

    /// Opens a socket to the publish URL for this publisher. On its loop.
    func connect() -> EventLoopFuture<Void> {
        connecting = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        return ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BenchPublisherSocket(bound.value))
                }
            }
            .connect(host: url.host, port: url.port).map { _ in () }
    }

    /// Queues messages; on the connection's loop.
    func enqueue(_ messages: [BenchMessage]) {
        guard !tally.isStopped else { return }
        queue += messages
        if context == nil && !connecting {
            _ = connect()
        } else {
            sendNext()
        }
    }

    fileprivate func connected(_ context: ChannelHandlerContext) {
        self.context = context
        connecting = false
        writtenOnSocket = 0
        closing = false
        sendNext()
    }

    fileprivate func disconnected() {
        context = nil
        // Requests the server never answered are failures, not waited for.
        for since in inFlight {
            tally.record(ok: false, nanoseconds: NIODeadline.now().uptimeNanoseconds - since)
        }
        inFlight.removeAll()
        bodyRemaining = nil
        response = []
        if queueHead < queue.count && !connecting && !tally.isStopped { _ = connect() }
    }

    private func sendNext() {
        guard let context, !closing else { return }
        let limit: Int
        switch keepsAlive {
        case nil: limit = 1
        case true?: limit = maxInFlight
        case false?: limit = writtenOnSocket == 0 ? 1 : 0  // one request a connection
        }
        var wrote = false
        while inFlight.count < limit, queueHead < queue.count {
            write(context: context)
            wrote = true
        }
        if wrote { context.flush() }
    }

    private func write(context: ChannelHandlerContext) {
        let message = queue[queueHead]
        queueHead += 1
        writtenOnSocket += 1
        if queueHead > 1024 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        let now = NIODeadline.now().uptimeNanoseconds
        let marker = BenchMarker.message(sequence: message.sequence, sentNanoseconds: now, size: size)
        let body = self.body?.render(marker, channel: message.channel) ?? marker
        var request = context.channel.allocator.buffer(capacity: body.count + 160)
        request.writeString("POST \(url.path(channel: message.channel)) HTTP/1.1\r\nHost: \(url.host)\r\n")
        request.writeString("Content-Length: \(body.count)\r\n\r\n")
        request.writeBytes(body)
        inFlight.append(now)
        context.write(NIOAny(request), promise: nil)
    }

    fileprivate func read(_ data: ByteBuffer) {
        var buffer = data
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
            var closes = false
            for line in head.split(separator: "\r\n") {
                let lower = line.lowercased().filter { $0 != " " }
                if lower.hasPrefix("content-length:") { length = Int(lower.dropFirst(15)) ?? 0 }
                if lower == "connection:close" { closes = true }
            }
            if keepsAlive == nil { keepsAlive = !closes }
            closing = closes
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
        if closing {
            context?.close(promise: nil)
        } else {
            sendNext()
        }
    }
}

/// One socket of a publisher: passes its events to the publisher, which outlives it.
private final class BenchPublisherSocket: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let publisher: BenchPublisherConnection

    init(_ publisher: BenchPublisherConnection) {
        self.publisher = publisher
    }

    func channelActive(context: ChannelHandlerContext) {
        publisher.connected(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        publisher.read(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        publisher.disconnected()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
