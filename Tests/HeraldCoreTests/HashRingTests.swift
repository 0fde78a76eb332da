import HeraldCore
import Testing

@Suite struct HashRingTests {
    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func emptyRingOwnsNothing() {
        #expect(HashRing(nodes: []).owner(of: "a") == nil)
    }

    @Test func everyKeyHasAnOwnerAndOwnershipIsStable() {
        let ring = HashRing(nodes: ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"].map { HashRing.Node($0) })
        let again = HashRing(nodes: ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"].map { HashRing.Node($0) })
        for i in 0..<1000 {
            #expect(ring.owner(of: "ch\(i)") != nil)
            #expect(ring.owner(of: "ch\(i)") == again.owner(of: "ch\(i)"))
        }
    }

    @Test func keysSpreadRoughlyByWeight() {
        let ring = HashRing(nodes: [HashRing.Node("a:1"), HashRing.Node("b:1"), HashRing.Node("c:1", weight: 2)])
        var counts: [String: Int] = [:]
        for i in 0..<20_000 { counts[ring.owner(of: "channel-\(i)")!.name, default: 0] += 1 }
        #expect((3_500...6_500).contains(counts["a:1"]!))
        #expect((3_500...6_500).contains(counts["b:1"]!))
        #expect((8_000...12_000).contains(counts["c:1"]!))
    }

    @Test func removingANodeMovesOnlyItsKeys() {
        let names = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]
        let full = HashRing(nodes: names.map { HashRing.Node($0) })
        let smaller = HashRing(nodes: names.dropLast().map { HashRing.Node($0) })
        for i in 0..<2000 {
            let key = "k\(i)"
            let before = full.owner(of: key)!.name
            if before != names.last! { #expect(smaller.owner(of: key)!.name == before) }
            // A node marked down behaves like one removed: its keys go to the next point's node.
            #expect(full.owner(of: key, isDown: { $0.name == names.last! })!.name == smaller.owner(of: key)!.name)
        }
    }

    @Test func sharesCoverTheWholeRingByWeight() {
        let ring = HashRing(nodes: [HashRing.Node("a:1"), HashRing.Node("b:1", weight: 3)])
        let shares = ring.shares()
        #expect(abs(shares.values.reduce(0, +) - 1) < 1e-9)
        #expect((0.15...0.35).contains(shares["a:1"]!))
        #expect(HashRing(nodes: [HashRing.Node("solo:1")]).shares() == ["solo:1": 1])
    }

    @Test(arguments: [
        ("127.0.0.1:9001", "127.0.0.1", "9001"),
        ("backend", "backend", ""),
        ("unix:/tmp/h.sock", "/tmp/h.sock", ""),
        ("[::1]:80", "[::1]", "80"),
        ("host:", "host", ""),
        ("a:b", "a:b", ""),
    ])
    func serverTextSplitsLikeNginx(name: String, host: String, port: String) {
        let (h, p) = HashRing.split(name)
        #expect(String(decoding: h, as: UTF8.self) == host)
        #expect(String(decoding: p, as: UTF8.self) == port)
    }
}
