import NIOCore

/// Formats commands as RESP arrays of bulk strings.
///
/// Written by hand rather than with hiredis's `redisFormatCommandArgv`: every publish encodes one
/// command, and hiredis needed the arguments gathered into one contiguous array, formatted the
/// lengths with `sprintf` into a buffer of its own and was then copied again into ours. Here each
/// argument is written once, straight into the outgoing buffer.
///
/// A command is measured first, then written in one pass into room reserved for it at once: one
/// capacity check per command, not one per header, length and line end (those small writes were
/// 4.5% of a connect's CPU in a burst on Redis, `perf record`).
enum RedisCommandEncoder {
    /// Appends one command to `buffer`.
    ///
    /// - Precondition: `arguments` is not empty.
    static func encode(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) {
        precondition(!arguments.isEmpty, "a Redis command needs at least one argument")
        let size = RedisArgument.encodedSize(of: arguments)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            out[0] = UInt8(ascii: "*")
            let count = arguments.count
            var at = RedisArgument.putDecimal(count, digits: RedisArgument.decimalLength(count), into: out, at: 1)
            at = RedisArgument.putLineEnd(into: out, at: at)
            for argument in arguments {
                at = argument.put(into: out, at: at)
            }
            return at
        }
    }

    /// Appends every command of `commands` to `buffer`, in order.
    static func encode(batch commands: [[RedisArgument]], into buffer: inout ByteBuffer) {
        for command in commands {
            Self.encode(command, into: &buffer)
        }
    }

    /// The size of the encoded form, to size buffers.
    static func estimatedSize(_ arguments: [RedisArgument]) -> Int {
        RedisArgument.encodedSize(of: arguments)
    }
}
