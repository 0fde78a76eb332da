/// The marker every bench message carries: `hb:<seq>:<sent ns>;` then padding. Subscribers find it
/// in whatever framing a server uses (SSE, WebSocket frames, JSON templates, raw text), so the same
/// run measures any push server of the same shape.
enum BenchMarker {
    static let prefix: [UInt8] = Array("hb:".utf8)

    /// A message of at least `size` bytes carrying `sequence` and the send time.
    static func message(sequence: Int, sentNanoseconds: UInt64, size: Int) -> [UInt8] {
        var bytes = Array("hb:\(sequence):\(sentNanoseconds);".utf8)
        if bytes.count < size { bytes += [UInt8](repeating: UInt8(ascii: "x"), count: size - bytes.count) }
        return bytes
    }

    /// Where an HTTP response head ends (just after its blank line), or nil while incomplete.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 3..<bytes.count
        where bytes[i] == 10 && bytes[i - 1] == 13 && bytes[i - 2] == 10 && bytes[i - 3] == 13 {
            return i + 1
        }
        return nil
    }

    /// Scans a byte stream for markers, keeping a split marker's head for the next chunk.
    struct Scanner {
        private var carry: [UInt8] = []

        /// Calls `found(sequence, sentNanoseconds)` for each complete marker in `bytes`.
        mutating func scan(_ bytes: some Collection<UInt8>, found: (Int, UInt64) -> Void) {
            let data: [UInt8] = carry.isEmpty ? Array(bytes) : carry + bytes
            carry.removeAll(keepingCapacity: true)
            var index = 0
            let end = data.count
            while index < end {
                guard data[index] == 0x68 else {  // 'h'
                    index += 1
                    continue
                }
                if end - index < 3 {
                    carry = Array(data[index...])
                    return
                }
                guard data[index + 1] == 0x62, data[index + 2] == 0x3A else {  // "b:"
                    index += 1
                    continue
                }
                var cursor = index + 3
                var sequence = 0
                var digits = 0
                while cursor < end, data[cursor] >= 0x30, data[cursor] <= 0x39, digits < 19 {
                    sequence = sequence * 10 + Int(data[cursor] - 0x30)
                    cursor += 1
                    digits += 1
                }
                if cursor == end {
                    carry = Array(data[index...])
                    return
                }
                guard digits > 0, data[cursor] == 0x3A else {
                    index += 1
                    continue
                }
                cursor += 1
                var sent: UInt64 = 0
                digits = 0
                while cursor < end, data[cursor] >= 0x30, data[cursor] <= 0x39, digits < 20 {
                    sent = sent &* 10 &+ UInt64(data[cursor] - 0x30)
                    cursor += 1
                    digits += 1
                }
                if cursor == end {
                    carry = Array(data[index...])
                    return
                }
                if digits > 0, data[cursor] == 0x3B { found(sequence, sent) }  // ';'
                index = cursor + 1
            }
        }
    }
}
