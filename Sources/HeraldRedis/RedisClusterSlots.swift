/// Redis Cluster's key space: 16,384 hash slots, a key's slot from the CRC16 of its hash tag
/// (or of the whole key), and the map from slot ranges to the shard masters that own them.
/// Pure: the cluster client routes with it, and it is tested without a cluster.
public enum RedisClusterSlots {
    /// Slots in a Redis Cluster.
    public static let count = 16_384

    /// The slot of `key`: CRC16 (XMODEM) of its hash tag modulo 16,384. The tag is what lies
    /// between the first `{` and the first `}` after it, when that is not empty; otherwise the
    /// whole key is hashed (the cluster specification's rule, so `herald:{news}:log` and
    /// `herald:{news}:pub` share a slot).
    public static func slot(of key: some Collection<UInt8>) -> Int {
        let bytes = Array(key)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            return Int(crc16(bytes[(open + 1)..<close]) % UInt16(count))
        }
        return Int(crc16(bytes) % UInt16(count))
    }

    public static func slot(of key: String) -> Int { slot(of: Array(key.utf8)) }

    /// CRC16-CCITT as Redis Cluster uses it: polynomial 0x1021, initial value 0, no reflection.
    /// Bitwise, not table-driven: a slot is computed once per command, on a short key.
    static func crc16(_ bytes: some Collection<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }
}

/// A shard master's address, as the cluster announces it.
public struct RedisNodeAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Which master serves each slot: the answer of `CLUSTER SLOTS`, as sorted ranges.
public struct RedisSlotMap: Sendable, Equatable {
    public struct Range: Sendable, Equatable {
        public var first: Int
        public var last: Int
        public var master: RedisNodeAddress
    }

    /// Sorted by first slot, not overlapping.
    public private(set) var ranges: [Range]

    public init(ranges: [Range]) {
        self.ranges = ranges.sorted { $0.first < $1.first }
    }

    /// The map from a `CLUSTER SLOTS` reply: `[[first, last, [host, port, id…], replica…], …]`.
    /// A master announced with an empty host (`""`) or `?` is reached at `seedHost`, the address
    /// the reply came from, as the cluster specification asks. Nil for a reply of another shape,
    /// or ranges that overlap or fall outside 0…16,383.
    public init?(clusterSlots reply: RESPValue, seedHost: String) {
        guard case .array(let entries) = reply else { return nil }
        var ranges: [Range] = []
        for entry in entries {
            guard case .array(let fields) = entry, fields.count >= 3, let first = fields[0].int,
                let last = fields[1].int, case .array(let master) = fields[2], master.count >= 2,
                let port = master[1].int, (1...65_535).contains(port),
                0 <= first, first <= last, last < RedisClusterSlots.count
            else { return nil }
            var host = master[0].string ?? ""
            if host.isEmpty || host == "?" { host = seedHost }
            ranges.append(Range(first: first, last: last, master: RedisNodeAddress(host: host, port: port)))
        }
        self.init(ranges: ranges)
        for (earlier, later) in zip(self.ranges, self.ranges.dropFirst()) where later.first <= earlier.last {
            return nil
        }
    }

    /// The master serving `slot`, or nil when no range covers it (the cluster is not fully set up,
    /// or a slot is being moved and its new owner is not announced yet).
    public func master(of slot: Int) -> RedisNodeAddress? {
        var low = 0
        var high = ranges.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let range = ranges[middle]
            if slot < range.first {
                high = middle - 1
            } else if slot > range.last {
                low = middle + 1
            } else {
                return range.master
            }
        }
        return nil
    }

    /// Whether every slot has a master.
    public var coversAllSlots: Bool {
        var next = 0
        for range in ranges {
            guard range.first == next else { return false }
            next = range.last + 1
        }
        return next == RedisClusterSlots.count
    }

    /// The distinct masters, in slot order.
    public var masters: [RedisNodeAddress] {
        var seen = Set<RedisNodeAddress>()
        return ranges.compactMap { seen.insert($0.master).inserted ? $0.master : nil }
    }
}

/// A cluster redirection: `MOVED` (the slot has a new owner: update the map) or `ASK` (this one
/// command goes to the other node, preceded by `ASKING`; the map stays).
public struct RedisRedirection: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case moved
        case ask
    }

    public var kind: Kind
    public var slot: Int
    public var target: RedisNodeAddress

    public init(kind: Kind, slot: Int, target: RedisNodeAddress) {
        self.kind = kind
        self.slot = slot
        self.target = target
    }

    /// Reads `MOVED 3999 127.0.0.1:6381` or `ASK 3999 [::1]:6381` (an error reply's text). An
    /// empty host (`:6381`) means the node that sent the error, `sender`. Nil for any other error.
    public init?(error text: String, sender: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), (0..<RedisClusterSlots.count).contains(slot),
            let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...]),
            (1...65_535).contains(port)
        else { return nil }
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        var host = String(parts[2][..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = sender }
        self.slot = slot
        self.target = RedisNodeAddress(host: host, port: port)
    }
}
