import NIOCore

/// Formats commands as RESP arrays of bulk strings.
///
/// Written by hand rather than with hiredis's `redisFormatCommandArgv`: every publish encodes one
/// command, and hiredis needed the arguments gathered into one contiguous array, formatted the
/// lengths with `sprintf` into a buffer of its own and was then copied again into ours. Here each
/// argument is written once, straight into the outgoing buffer.
enum RedisCommandEncoder {
    /// Appends one command to `buffer`.
    ///
    /// - Precondition: `arguments` is not empty.
    static func encode(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) {
        precondition(!arguments.isEmpty, "a Redis command needs at least one argument")
        buffer.writeInteger(UInt8(ascii: "*"))
        RedisArgument.writeDecimal(
            arguments.count, digits: RedisArgument.decimalLength(arguments.count), into: &buffer)
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            argument.write(into: &buffer)
        }
    }

    /// Appends every command of `commands` to `buffer`, in order.
    static func encode(batch commands: [[RedisArgument]], into buffer: inout ByteBuffer) {
        for command in commands {
            Self.encode(command, into: &buffer)
        }
    }

    /// A rough size of the encoded form, to size buffers.
    static func estimatedSize(_ arguments: [RedisArgument]) -> Int {
        var size = 16
        for argument in arguments {
            size += argument.estimatedSize
        }
        return size
    }
}
