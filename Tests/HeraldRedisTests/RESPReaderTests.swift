import CHiredis
import NIOCore
import Testing

@testable import HeraldRedis

@Suite("RESP parsing and formatting (hiredis, no server)")
struct RESPReaderTests {
    /// Replies of every RESP2 type, each with its wire form.
    static let samples: [(wire: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":9223372036854775807\r\n", .integer(Int.max)),
        ("$5\r\nhello\r\n", .bulk("hello")),
        ("$0\r\n\r\n", .bulkString([])),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("*0\r\n", .array([])),
        ("$8\r\na\r\nb\0c\r\n\r\n", .bulkString(Array("a\r\nb\0c\r\n".utf8))),
        (
            "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nabc\r\n",
            .array([.bulk("message"), .bulk("ch"), .bulk("abc")])
        ),
        (
            "*4\r\n:1\r\n*2\r\n$-1\r\n+x\r\n-E\r\n*1\r\n*0\r\n",
            .array([.integer(1), .array([.null, .simpleString("x")]), .error("E"), .array([.array([])])])
        ),
        ("$4\r\nh\u{e9}!\r\n", .bulkString(Array("h\u{e9}!".utf8))),
    ]

    @Test("each RESP type converts to its RESPValue", arguments: 0..<samples.count)
    func eachType(index: Int) throws {
        let reader = RESPReader()
        try reader.feed(Array(Self.samples[index].wire.utf8))
        #expect(try reader.next() == Self.samples[index].value)
        #expect(try reader.next() == nil)
    }

    @Test("a stream of every reply split at every byte boundary parses the same")
    func splitAtEveryBoundary() throws {
        let wire = Array(Self.samples.map(\.wire).joined().utf8)
        let expected = Self.samples.map(\.value)
        for split in 0...wire.count {
            let reader = RESPReader()
            var values: [RESPValue] = []
            try reader.feed(Array(wire[..<split]))
            while let value = try reader.next() {
                values.append(value)
            }
            try reader.feed(Array(wire[split...]))
            while let value = try reader.next() {
                values.append(value)
            }
            #expect(values == expected, "split at byte \(split)")
        }
    }

    @Test("a stream fed one byte at a time parses the same")
    func byteByByte() throws {
        let wire = Array(Self.samples.map(\.wire).joined().utf8)
        let reader = RESPReader()
        var values: [RESPValue] = []
        for byte in wire {
            try reader.feed([byte])
            while let value = try reader.next() {
                values.append(value)
            }
        }
        #expect(values == Self.samples.map(\.value))
    }

    @Test("every reply split at each of its own boundaries, from a ByteBuffer")
    func eachReplySplitFromByteBuffer() throws {
        for sample in Self.samples {
            let wire = Array(sample.wire.utf8)
            for split in 1..<wire.count {
                let reader = RESPReader()
                try reader.feed(ByteBuffer(bytes: wire[..<split]))
                #expect(try reader.next() == nil, "\(sample.wire.debugDescription) split at \(split)")
                try reader.feed(ByteBuffer(bytes: wire[split...]))
                #expect(try reader.next() == sample.value, "\(sample.wire.debugDescription) split at \(split)")
            }
        }
    }

    @Test("bytes that are not RESP fail with a protocol violation")
    func garbage() throws {
        let reader = RESPReader()
        try reader.feed(Array("?what\r\n".utf8))
        #expect(throws: RedisError.self) {
            _ = try reader.next()
        }
        do {
            let again = RESPReader()
            try again.feed(Array("$abc\r\n".utf8))
            _ = try again.next()
            Issue.record("expected a protocol error")
        } catch {
            #expect(error.description.contains("protocol error"))
        }
    }

    @Test("commands are formatted as RESP arrays of bulk strings")
    func formatting() {
        var buffer = ByteBuffer()
        RedisCommandEncoder.encode(["SET", "key", RedisArgument([0, 13, 10, 255]), 42, ""], into: &buffer)
        let expected: [UInt8] =
            Array("*5\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4\r\n".utf8) + [0, 13, 10, 255]
            + Array("\r\n$2\r\n42\r\n$0\r\n\r\n".utf8)
        #expect(Array(buffer.readableBytesView) == expected)
    }

    @Test("integers are written in decimal, and lengths of any number of digits")
    func formattingNumbers() {
        let long = String(repeating: "k", count: 1234)
        var buffer = ByteBuffer()
        RedisCommandEncoder.encode([0, -7, 9, 10, 1_234_567_890_123, -9_000, RedisArgument(long)], into: &buffer)
        let expected =
            "*7\r\n$1\r\n0\r\n$2\r\n-7\r\n$1\r\n9\r\n$2\r\n10\r\n$13\r\n1234567890123\r\n$5\r\n-9000\r\n"
            + "$1234\r\n\(long)\r\n"
        #expect(String(buffer: buffer) == expected)
        #expect(RedisArgument(-9_000) == RedisArgument("-9000"))
        #expect(RedisArgument(ByteBuffer(string: "ab")) == RedisArgument([97, 98]))
    }

    @Test("a command is appended after what the buffer holds, and a buffer argument sends only its readable bytes")
    func formattingAppendsAndSlices() {
        var buffer = ByteBuffer(string: "already here")
        var source = ByteBuffer(string: "skip:kept")
        source.moveReaderIndex(forwardBy: 5)
        RedisCommandEncoder.encode(["GET", RedisArgument(source)], into: &buffer)
        RedisCommandEncoder.encode(["PING"], into: &buffer)
        #expect(String(buffer: buffer) == "already here*2\r\n$3\r\nGET\r\n$4\r\nkept\r\n*1\r\n$4\r\nPING\r\n")
    }

    @Test("the encoder writes what hiredis's formatter writes, for arguments of every form")
    func formattingAgreesWithHiredis() {
        var random = SystemRandomNumberGenerator()
        func text() -> String {
            let pieces = ["a", "{", "}", ":", "é", "π", "漢", "🙂", " ", "\r\n", "0"]
            return (0..<Int.random(in: 0...40, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined()
        }
        for _ in 0..<500 {
            let arguments: [RedisArgument] = (0..<Int.random(in: 1...30, using: &random)).map { _ in
                switch Int.random(in: 0..<4, using: &random) {
                case 0: RedisArgument(text())
                case 1: RedisArgument(Int.random(in: Int.min...Int.max, using: &random) >> Int.random(in: 0...63))
                case 2:
                    RedisArgument((0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255) })
                default: RedisArgument(ByteBuffer(string: text()))
                }
            }
            var ours = ByteBuffer()
            RedisCommandEncoder.encode(arguments, into: &ours)
            let bytes = arguments.map(\.bytes)
            var flat: [UInt8] = []
            for argument in bytes { flat += argument }
            flat.append(0)  // a valid address for an empty last argument
            var offsets: [Int] = []
            var total = 0
            for argument in bytes {
                offsets.append(total)
                total += argument.count
            }
            let theirs: [UInt8] = flat.withUnsafeMutableBufferPointer { pointer in
                pointer.withMemoryRebound(to: CChar.self) { characters in
                    var argv: [UnsafePointer<CChar>?] = offsets.map { UnsafePointer(characters.baseAddress! + $0) }
                    var formatted: UnsafeMutablePointer<CChar>? = nil
                    let length = argv.withUnsafeMutableBufferPointer {
                        redisFormatCommandArgv(&formatted, Int32(bytes.count), $0.baseAddress, bytes.map(\.count))
                    }
                    defer { redisFreeCommand(formatted) }
                    return Array(UnsafeRawBufferPointer(start: formatted, count: Int(length)))
                }
            }
            #expect(Array(ours.readableBytesView) == theirs)
        }
    }

    @Test("a formatted command parses back as its arguments (every byte value)")
    func formattingRoundTrip() throws {
        let binary = RedisArgument((0...255).map { UInt8($0) })
        let arguments: [RedisArgument] = ["EVALSHA", binary, "", 1, RedisArgument("π ≈ 3.14")]
        var buffer = ByteBuffer()
        RedisCommandEncoder.encode(batch: [arguments, ["PING"]], into: &buffer)
        let reader = RESPReader()
        try reader.feed(buffer)
        #expect(try reader.next() == .array(arguments.map { .bulkString($0.bytes) }))
        #expect(try reader.next() == .array([.bulk("PING")]))
    }

    @Test("accessors read values the way callers need them")
    func accessors() {
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.bulk("hi").string == "hi")
        #expect(RESPValue.bulkString([0xFF]).string == nil)
        #expect(RESPValue.bulk("17").int == 17)
        #expect(RESPValue.integer(-3).int == -3)
        #expect(RESPValue.bulk("x").int == nil)
        #expect(RESPValue.simpleString("OK").bytes == Array("OK".utf8))
        #expect(RESPValue.integer(1).bytes == nil)
        #expect(RESPValue.array([.null]).array == [.null])
        #expect(RESPValue.null.array == nil)
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.error("ERR x").errorMessage == "ERR x")
        #expect(RESPValue.error("ERR x").string == nil)
        #expect(RESPValue.array([.integer(1), .bulk("a"), .null]).description == "[(integer) 1, \"a\", (nil)]")
    }
}
