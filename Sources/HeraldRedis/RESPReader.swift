import CHiredis
import NIOCore

/// A RESP2 reply parser: hiredis's `redisReader`, fed with bytes, yielding complete replies.
///
/// Not thread-safe and not `Sendable`: one reader belongs to one channel handler on one event loop.
/// Every reply is copied into Swift values before hiredis frees it, so no C pointer outlives a call.
final class RESPReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        guard let reader = redisReaderCreate() else {
            fatalError("hiredis could not allocate a reader (out of memory)")
        }
        self.reader = reader
    }

    deinit {
        redisReaderFree(self.reader)
    }

    /// Appends bytes received from Redis.
    func feed(_ bytes: UnsafeRawBufferPointer) throws(RedisError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let status = redisReaderFeed(self.reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        if status != REDIS_OK {
            throw self.failure()
        }
    }

    /// Appends the readable bytes of `buffer`.
    func feed(_ buffer: ByteBuffer) throws(RedisError) {
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(self.reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK {
            throw self.failure()
        }
    }

    /// Appends the bytes of an array (for tests and small inputs).
    func feed(_ bytes: [UInt8]) throws(RedisError) {
        let status = bytes.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress, raw.count > 0 else { return REDIS_OK }
            return redisReaderFeed(self.reader, base.assumingMemoryBound(to: CChar.self), raw.count)
        }
        if status != REDIS_OK {
            throw self.failure()
        }
    }

    /// The next complete reply as a ``RESPValue``, or `nil` when more bytes are needed.
    func next() throws(RedisError) -> RESPValue? {
        try self.nextReply { RESPValue(reply: $0) }
    }

    /// Hands the next complete reply to `body` while hiredis still owns it, then frees it.
    ///
    /// `body` must copy what it needs; the pointer is invalid once it returns.
    /// - Returns: `body`'s result, or `nil` when more bytes are needed.
    func nextReply<Result>(_ body: (UnsafePointer<redisReply>) -> Result) throws(RedisError) -> Result? {
        var raw: UnsafeMutableRawPointer? = nil
        guard redisReaderGetReply(self.reader, &raw) == REDIS_OK else {
            throw self.failure()
        }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return body(UnsafePointer(raw.assumingMemoryBound(to: redisReply.self)))
    }

    private func failure() -> RedisError {
        let message = String(cString: herald_redisReaderGetError(self.reader))
        return .protocolViolation(message.isEmpty ? "unreadable reply" : message)
    }
}

extension RESPValue {
    /// Copies a hiredis reply (and its elements) into Swift values.
    init(reply pointer: UnsafePointer<redisReply>) {
        let reply = pointer.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            self = .bulkString(Self.bytes(reply.str, reply.len))
        case REDIS_REPLY_STATUS:
            self = .simpleString(Self.text(reply.str, reply.len))
        case REDIS_REPLY_ERROR:
            self = .error(Self.text(reply.str, reply.len))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(reply.integer))
        case REDIS_REPLY_ARRAY:
            guard reply.elements > 0, let elements = reply.element else {
                self = .array([])
                return
            }
            var values: [RESPValue] = []
            values.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                if let element = elements[index] {
                    values.append(RESPValue(reply: element))
                } else {
                    values.append(.null)
                }
            }
            self = .array(values)
        default:
            // REDIS_REPLY_NIL: RESP2's null bulk string and null array.
            self = .null
        }
    }

    static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    static func text(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}
