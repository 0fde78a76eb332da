/// The consistent-hash ring of nginx's `hash $key consistent` (ketama), bit for bit, so Herald's
/// nodes and tools name the same owner for a channel as the nginx in front of them.
///
/// Each node contributes `160 × weight` points. A node's points are a CRC-32 chain seeded with
/// `host "\0" port` (split at the last colon followed only by digits, as nginx splits the `server`
/// text; `unix:` paths have no port): point *k* is `crc32(seed ‖ point(k-1) as 4 little-endian
/// bytes)`, starting from 0. A key belongs to the first point at or after `crc32(key)`, wrapping
/// around; when that node is down, to the next point's node.
public struct HashRing: Sendable {
    /// A `server` line of the upstream: its text exactly as written, and its weight.
    public struct Node: Hashable, Sendable {
        public var name: String
        public var weight: Int

        public init(_ name: String, weight: Int = 1) {
            self.name = name
            self.weight = weight
        }
    }

    private struct Point: Sendable {
        var hash: UInt32
        var node: Int
    }

    public let nodes: [Node]
    private let points: [Point]

    public init(nodes: [Node]) {
        self.nodes = nodes
        var points: [Point] = []
        points.reserveCapacity(nodes.reduce(0) { $0 + 160 * max($1.weight, 0) })
        for (index, node) in nodes.enumerated() {
            var seed = CRC32()
            let (host, port) = Self.split(node.name)
            seed.update(host)
            seed.update(CollectionOfOne(0))
            seed.update(port)
            var previous: UInt32 = 0
            for _ in 0..<(160 * max(node.weight, 0)) {
                var crc = seed
                crc.update(
                    [
                        UInt8(previous & 0xFF), UInt8(previous >> 8 & 0xFF), UInt8(previous >> 16 & 0xFF),
                        UInt8(previous >> 24),
                    ])
                previous = crc.value
                points.append(Point(hash: previous, node: index))
            }
        }
        // nginx sorts by hash and keeps one point per hash value.
        points.sort { $0.hash < $1.hash }
        var unique: [Point] = []
        unique.reserveCapacity(points.count)
        for point in points where unique.last?.hash != point.hash { unique.append(point) }
        self.points = unique
    }

    /// nginx's split of a `server` text into the CRC seed's host and port.
    public static func split(_ name: String) -> (host: ArraySlice<UInt8>, port: ArraySlice<UInt8>) {
        let bytes = Array(name.utf8)
        if bytes.count >= 5, String(decoding: bytes[0..<5], as: UTF8.self).lowercased() == "unix:" {
            return (bytes[5...], [])
        }
        var index = bytes.count
        while index > 0 {
            let byte = bytes[index - 1]
            if byte == UInt8(ascii: ":") { return (bytes[..<(index - 1)], bytes[index...]) }
            if byte < UInt8(ascii: "0") || byte > UInt8(ascii: "9") { break }
            index -= 1
        }
        return (bytes[...], [])
    }

    /// The fraction of the hash space each node owns (the keys it gets, on average), by node name.
    public func shares() -> [String: Double] {
        var shares: [String: Double] = [:]
        guard let last = points.last else { return shares }
        var previous = last.hash
        for point in points {
            // A point owns the keys from just after the previous point up to itself, wrapping around.
            let span = point.hash &- previous
            shares[nodes[point.node].name, default: 0] += points.count == 1 ? 1 : Double(span) / 4_294_967_296
            previous = point.hash
        }
        return shares
    }

    /// The node that owns `key`, skipping nodes for which `isDown` is true (nginx's next point).
    public func owner(of key: String, isDown: (Node) -> Bool = { _ in false }) -> Node? {
        guard !points.isEmpty else { return nil }
        let hash = CRC32.checksum(key.utf8)
        // First point with point.hash >= hash.
        var low = 0
        var high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid].hash < hash { low = mid + 1 } else { high = mid }
        }
        for step in 0..<points.count {
            let node = nodes[points[(low + step) % points.count].node]
            if !isDown(node) { return node }
        }
        return nil
    }
}
