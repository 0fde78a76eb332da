import CHiredis
import NIOCore

/// Formats commands as RESP arrays of bulk strings with hiredis's `redisFormatCommandArgv`.
enum RedisCommandEncoder {
    /// Appends one command to `buffer`.
    ///
    /// - Precondition: `arguments` is not empty.
    static func encode(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) {
        precondition(!arguments.isEmpty, "a Redis command needs at least one argument")
        var total = 0
        for argument in arguments {
            total += argument.bytes.count
        }
        // All argument bytes in one array, so that one pointer (plus offsets) reaches every argument.
        var flat: [UInt8] = []
        flat.reserveCapacity(max(total, 1))
        var offsets: [Int] = []
        offsets.reserveCapacity(arguments.count)
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            offsets.append(flat.count)
            lengths.append(argument.bytes.count)
            flat.append(contentsOf: argument.bytes)
        }
        if flat.isEmpty {
            flat.append(0)  // a valid base address for zero-length arguments
        }
        flat.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { characters in
                let base = characters.baseAddress!
                var argv: [UnsafePointer<CChar>?] = offsets.map { UnsafePointer(base + $0) }
                var formatted: UnsafeMutablePointer<CChar>? = nil
                let length = argv.withUnsafeMutableBufferPointer { argvPointer in
                    redisFormatCommandArgv(&formatted, Int32(arguments.count), argvPointer.baseAddress, lengths)
                }
                guard length >= 0, let formatted else {
                    fatalError("hiredis could not format a command (out of memory)")
                }
                defer { redisFreeCommand(formatted) }
                buffer.writeBytes(UnsafeRawBufferPointer(start: formatted, count: Int(length)))
            }
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
            size += argument.bytes.count + 16
        }
        return size
    }
}
