import CHiredis
import Logging
import NIOCore

/// Speaks RESP on one Redis connection: writes commands, parses replies with hiredis, matches them FIFO.
///
/// In command mode every reply answers the oldest outstanding request. In pub/sub mode, message pushes
/// go to a callback instead, and subscribe/unsubscribe confirmations count towards the oldest request.
/// If the oldest request waits longer than the command timeout, every outstanding request fails with
/// ``RedisError/timeout`` and the connection is closed: a half-dead connection never hangs its callers.
///
/// Not `Sendable`: it lives on its channel's event loop, and so does its `redisReader`.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var response: RedisRequest.Response
        var deadline: NIODeadline
    }

    private struct PubSubMode {
        var message: [UInt8]
        var subscribe: [UInt8]
        var unsubscribe: [UInt8]
        var onEvent: (PubSubEvent) -> Void
    }

    private enum PubSubReply {
        case message(channel: String, payload: ByteBuffer)
        case confirmation(subscribed: Bool, channel: String)
        case other(RESPValue)
    }

    private let reader = RESPReader()
    private let commandTimeout: TimeAmount
    private let address: String
    private let logger: Logger
    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    /// Replies gathered so far for a batch at the head of `pending`.
    private var headReplies: [RESPValue] = []
    /// Confirmations counted so far for a pub/sub request at the head of `pending`.
    private var headConfirmations = 0
    private var timer: Scheduled<Void>?
    private var flushScheduled = false
    private var failure: RedisError?
    private var pubSub: PubSubMode?
    private var context: ChannelHandlerContext?
    private let metrics = RedisMetrics()

    init(commandTimeout: TimeAmount, address: String, logger: Logger) {
        self.commandTimeout = commandTimeout
        self.address = address
        self.logger = logger
    }

    /// Switches to pub/sub mode: pushes and confirmations go to `onEvent`, on the event loop.
    func enterPubSubMode(_ commands: RedisPubSubCommands, onEvent: @escaping (PubSubEvent) -> Void) {
        self.pubSub = PubSubMode(
            message: Array(commands.messageKind.utf8),
            subscribe: Array(commands.subscribeKind.utf8),
            unsubscribe: Array(commands.unsubscribeKind.utf8),
            onEvent: onEvent
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.failAll(self.failure ?? RedisError.connectionClosed.at(self.address))
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(RedisError.connectionClosed.at(self.address))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError = (error as? RedisError) ?? RedisError.connectionClosed.at(self.address)
        self.logger.debug(
            "redis connection failed",
            metadata: ["redis.address": "\(self.address)", "redis.error": "\(error)"]
        )
        self.failAll(redisError)
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        if let failure = self.failure {
            // Rejected: the sender fails the response when the write promise fails.
            if let promise {
                promise.fail(failure)
            } else {
                request.response.fail(failure)
            }
            return
        }
        self.pending.append(Pending(response: request.response, deadline: .now() + self.commandTimeout))
        self.metrics.commands.increment(by: request.response.commandCount)
        promise?.succeed()
        context.write(self.wrapOutboundOut(request.bytes), promise: nil)
        self.scheduleTimerIfNeeded()
    }

    /// Commands written in one turn of the event loop (many publishes at once) leave in one write.
    func flush(context: ChannelHandlerContext) {
        guard !self.flushScheduled else { return }
        self.flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            context.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.failure == nil else { return }
        let buffer = self.unwrapInboundIn(data)
        do throws(RedisError) {
            try self.reader.feed(buffer)
            while self.failure == nil {
                if let pubSub = self.pubSub {
                    let allocator = context.channel.allocator
                    guard let reply = try self.reader.nextReply({ Self.classify($0, pubSub, allocator) }) else {
                        break
                    }
                    try self.handle(reply, pubSub)
                } else {
                    guard let value = try self.reader.next() else { break }
                    try self.answerHead(with: value)
                }
            }
        } catch {
            self.logger.info(
                "redis protocol error; closing connection",
                metadata: ["redis.address": "\(self.address)", "redis.error": "\(error)"]
            )
            self.failAll(error.at(self.address))
            context.close(promise: nil)
        }
    }

    private func handle(_ reply: PubSubReply, _ pubSub: PubSubMode) throws(RedisError) {
        switch reply {
        case .message(let channel, let payload):
            pubSub.onEvent(.message(channel: channel, payload: payload))
        case .confirmation(let subscribed, let channel):
            guard let head = self.pending.first, case .confirmations(let count, let promise) = head.response else {
                // A Redis Cluster master unsubscribes a sharded channel by itself once its slot
                // has moved to another master: a push, not an answer.
                guard subscribed else { return pubSub.onEvent(.unsubscribed(channel)) }
                throw .protocolViolation("unexpected subscription confirmation for '\(channel)'")
            }
            self.headConfirmations += 1
            let complete = self.headConfirmations == count
            if complete {
                self.headConfirmations = 0
                self.popHead()
            }
            pubSub.onEvent(subscribed ? .subscribed(channel) : .unsubscribed(channel))
            if complete {
                promise.succeed()
            }
        case .other(let value):
            try self.answerHead(with: value)
        }
    }

    private func answerHead(with value: RESPValue) throws(RedisError) {
        guard let head = self.pending.first else {
            throw .protocolViolation("reply without a command: \(value)")
        }
        // NOSCRIPT is the expected answer to a script's first call on a new server: it is loaded
        // and called again, not an error anyone should be paged for.
        if case .error(let message) = value, !message.hasPrefix("NOSCRIPT") { self.metrics.errors.increment() }
        switch head.response {
        case .single(let promise):
            self.recordRoundTrip(head)
            self.popHead()
            if case .error(let message) = value {
                promise.fail(RedisError.server(message).at(self.address))
            } else {
                promise.succeed(value)
            }
        case .batch(let count, let promise):
            if self.headReplies.isEmpty { self.headReplies.reserveCapacity(count) }
            self.headReplies.append(value)
            if self.headReplies.count == count {
                let replies = self.headReplies
                self.headReplies = []
                self.recordRoundTrip(head)
                self.popHead()
                promise.succeed(replies)
            }
        case .confirmations:
            if case .error(let message) = value {
                throw RedisError.server(message)
            }
            throw .protocolViolation("expected a subscription confirmation, got \(value)")
        }
    }

    /// The time from writing `request` to its (last) reply: its deadline less the timeout.
    private func recordRoundTrip(_ request: Pending) {
        let sent = request.deadline - self.commandTimeout
        self.metrics.roundTrip.recordNanoseconds((NIODeadline.now() - sent).nanoseconds)
    }

    /// The timer is left to fire when the last reply came: cancelling a scheduled task makes NIO
    /// search the loop's whole list of them, and this loop also holds a deadline for every HTTP
    /// connection on it (thousands on a busy node), so a cancel after every reply cost more than
    /// the reply. A timer that fires with nothing pending does nothing; one that fires early is set
    /// again for the oldest command's deadline.
    private func popHead() {
        self.pending.removeFirst()
    }

    private func failAll(_ error: RedisError) {
        if self.failure == nil {
            self.failure = error
        }
        self.timer?.cancel()
        self.timer = nil
        guard !self.pending.isEmpty else { return }
        self.metrics.errors.increment(by: self.pending.count)
        let failed = self.pending
        self.pending.removeAll()
        self.headReplies = []
        self.headConfirmations = 0
        for entry in failed {
            entry.response.fail(error)
        }
    }

    private func scheduleTimerIfNeeded() {
        guard self.timer == nil, let head = self.pending.first, let context = self.context else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: head.deadline) {
            handler.value.timerFired()
        }
    }

    private func timerFired() {
        self.timer = nil
        guard let head = self.pending.first, let context = self.context else { return }
        guard head.deadline <= .now() else {
            self.scheduleTimerIfNeeded()
            return
        }
        self.logger.info(
            "redis command timed out; closing connection",
            metadata: [
                "redis.address": "\(self.address)",
                "redis.pending": "\(self.pending.count)",
                "redis.timeout_ms": "\(self.commandTimeout.nanoseconds / 1_000_000)",
            ]
        )
        self.failAll(RedisError.timeout.at(self.address))
        context.close(promise: nil)
    }

    /// Sorts a pub/sub-mode reply while hiredis still owns it, copying only what is needed.
    private static func classify(
        _ pointer: UnsafePointer<redisReply>,
        _ mode: PubSubMode,
        _ allocator: ByteBufferAllocator
    ) -> PubSubReply {
        let reply = pointer.pointee
        guard reply.type == REDIS_REPLY_ARRAY, reply.elements == 3, let elements = reply.element,
            let kindReply = elements[0], kindReply.pointee.type == REDIS_REPLY_STRING,
            let nameReply = elements[1], nameReply.pointee.type == REDIS_REPLY_STRING
        else {
            return .other(RESPValue(reply: pointer))
        }
        let kind = UnsafeRawBufferPointer(start: kindReply.pointee.str, count: kindReply.pointee.len)
        let channel = RESPValue.text(nameReply.pointee.str, nameReply.pointee.len)
        if kind.elementsEqual(mode.message) {
            guard let payloadReply = elements[2], payloadReply.pointee.type == REDIS_REPLY_STRING else {
                return .other(RESPValue(reply: pointer))
            }
            let bytes = UnsafeRawBufferPointer(start: payloadReply.pointee.str, count: payloadReply.pointee.len)
            var payload = allocator.buffer(capacity: bytes.count)
            payload.writeBytes(bytes)
            return .message(channel: channel, payload: payload)
        }
        if kind.elementsEqual(mode.subscribe) {
            return .confirmation(subscribed: true, channel: channel)
        }
        if kind.elementsEqual(mode.unsubscribe) {
            return .confirmation(subscribed: false, channel: channel)
        }
        return .other(RESPValue(reply: pointer))
    }
}
