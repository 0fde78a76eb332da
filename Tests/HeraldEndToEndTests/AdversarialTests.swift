import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import HeraldTesting
#endif

/// Thousands of hostile requests and frames against one node, on each engine; afterwards the
/// node is alive, answers correctly and has given back the memory they cost.
@Suite(.timeLimit(.minutes(2)))
struct AdversarialTests {
    static let arguments = ["--public-publisher", "--request-timeout", "2s", "--close-timeout", "1s"]

    @Test func memoryEngineSurvivesHostileClients() async throws {
        let node = try await HeraldProcess.start(Self.arguments)
        defer { node.stop() }
        try await Self.attack(node, seed: 1)
    }

    @Test(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"))
    func redisEngineSurvivesHostileClients() async throws {
        let bed = try await RedisTestbed.start(nodes: 1, arguments: Self.arguments)
        defer { bed.stop() }
        try await Self.attack(bed.a, seed: 2)
    }

    static func attack(_ node: HeraldProcess, seed: UInt64) async throws {
        // Warm up every path once, so the baseline includes what a served node keeps anyway.
        try await round(node, inputs: Hostile.inputs(seed: seed &+ 100, count: 300))
        let before = try #require(node.residentBytes)
        // A subscriber that must keep getting messages through the whole attack.
        let watcher = try await HTTPStream.connect(port: node.port, "/ev/watched")
        defer { watcher.close() }
        try #require(try await node.waitForSubscribers("watched", count: 1))

        let port = node.port
        async let trickled = Blocking.run { Hostile.trickle(clients: 50, port: port, within: .seconds(6)) }
        try await round(node, inputs: Hostile.inputs(seed: seed, count: 3_000))
        #expect(try await trickled == 50, "slow clients the request deadline cut off")

        #expect(node.isRunning, "\(node.output)")
        #expect(try await node.admin("GET", "/healthz").status == 200)
        #expect(try await node.publish("watched", "still here").status == 200)
        #expect(try await watcher.readUntil(contains: "still here"))
        let answer = try await node.get("/lp/watched.b1")
        #expect(answer.status == 200 && answer.text.contains("still here"), "\(answer)")
        // Connections the attack left are closed by their deadlines; then memory is back.
        var after = node.residentBytes ?? 0
        let settle = ContinuousClock.now + .seconds(8)
        while after > before + 24 << 20, ContinuousClock.now < settle {
            try await Task.sleep(for: .milliseconds(500))
            after = node.residentBytes ?? 0
        }
        #expect(after <= before + 24 << 20, "RSS \(before >> 10) KiB before, \(after >> 10) KiB after")
    }

    /// Sends every input on its own connection, four clients at a time.
    static func round(_ node: HeraldProcess, inputs: [Hostile.Input]) async throws {
        let port = node.port
        let adminPort = node.adminPort
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                let mine = inputs.enumerated().filter { $0.offset % 4 == lane }.map(\.element)
                group.addTask {
                    try await Blocking.run {
                        for input in mine { Hostile.send(input, port: input.admin ? adminPort : port) }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// Hostile inputs, generated from a seed so a failure can be replayed.
enum Hostile {
    struct Input: Sendable {
        var chunks: [[UInt8]]
        /// Leave with a reset instead of reading the answer.
        var vanish = false
        var admin = false
    }

    static func inputs(seed: UInt64, count: Int) -> [Input] {
        var random = SplitMix(seed: seed)
        return (0..<count).map { index in
            var input = make(kind: index % kinds, random: &random)
            input.vanish = input.vanish || random.next() % 5 == 0
            return input
        }
    }

    static let kinds = 16

    static func make(kind: Int, random: inout SplitMix) -> Input {
        func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
        func text(_ s: String) -> [UInt8] { Array(s.utf8) }
        let channels = ["a", "b", "c%2Fd", "w"]
        let channel = channels[Int(random.next() % UInt64(channels.count))]
        switch kind {
        case 0: return Input(chunks: [bytes(Int(random.next() % 300) + 1)])
        case 1: return Input(chunks: [text("GET  HTTP/1.1\r\n\r\n"), text("\r\n\r\n")])
        case 2: return Input(chunks: [text("GET /ev/" + String(repeating: "x", count: 100_000) + " HTTP/1.1\r\n\r\n")])
        case 3:
            let huge = String(repeating: "h", count: 90_000)
            return Input(chunks: [text("GET /sub/\(channel) HTTP/1.1\r\nX-Big: \(huge)\r\n\r\n")])
        case 4:
            let flood = (0..<3_000).map { "X-\($0): v\r\n" }.joined()
            return Input(chunks: [text("GET /lp/\(channel) HTTP/1.1\r\n\(flood)\r\n")])
        case 5:
            return Input(
                chunks: [
                    text("POST /pub?id=\(channel) HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 400000\r\n\r\nabc")
                ])
        case 6:
            let paths = ["/ev/%zz%", "/sub/%C3%28", "/lp/%FF%FE", "/ws/%00x", "/ev/a%0D%0AX:%20y", "/lp/{a}", "/ev/%"]
            return Input(chunks: [text("GET \(paths[Int(random.next() % UInt64(paths.count))]) HTTP/1.1\r\n\r\n")])
        case 7: return Input(chunks: [text("GET /ev/") + [0xC3, 0x28, 0xFF] + text(" HTTP/1.1\r\n\r\n")])
        case 8, 9:
            // A WebSocket handshake, then frames no client may send: unmasked, reserved bits,
            // reserved opcodes, absurd lengths, or a frame cut short.
            let frames: [[UInt8]] = [
                [0x81, 0x05] + text("hello"),
                [0xC1, 0x80, 1, 2, 3, 4],
                [0x83, 0x80, 1, 2, 3, 4],
                [0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                [0x81, 0xFE, 0x10],
                [0x89, 0xFE, 0x01, 0x00, 1, 2, 3, 4],
                bytes(40),
            ]
            return Input(chunks: [text(webSocketHandshake(channel)), frames[Int(random.next() % UInt64(frames.count))]])
        case 10:
            // A body cut short, then the client reads what comes (nothing, until the deadline).
            return Input(chunks: [text("POST /pub?id=\(channel) HTTP/1.1\r\nContent-Length: 50\r\n\r\nxy")])
        case 11:
            let path = (0..<5_000).map { "c\($0)" }.joined(separator: "/")
            let cursor = "hc:" + (0..<3_000).map { "k\($0):1" }.joined(separator: ",")
            return Input(chunks: [text("GET /ev/\(path) HTTP/1.1\r\nLast-Event-ID: \(cursor)\r\n\r\n")])
        case 12:
            // Two channels' info, the client gone before the answer.
            return Input(chunks: [text("GET /pub?id=a/b HTTP/1.1\r\n\r\n")], vanish: true)
        case 13:
            return Input(chunks: [text("GET /channels-stats?id=a/b HTTP/1.1\r\n\r\n")], vanish: true, admin: true)
        case 14:
            return Input(chunks: [
                text("GET /lp/\(channel)?callback=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1\r\n\r\n")
            ])
        default:
            // A request cut mid-header, then gone.
            return Input(chunks: [text("GET /ev/\(channel) HTTP/1.1\r\nHost: x\r\nX-Half: ")], vanish: true)
        }
    }

    static func webSocketHandshake(_ channel: String) -> String {
        "GET /ws/\(channel) HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    }

    /// One hostile client: sends, then reads briefly or vanishes. Errors are the point, not failures.
    static func send(_ input: Input, port: UInt16) {
        guard let socket = try? TCPSocket(port: port) else { return }
        defer { input.vanish ? socket.abort() : socket.close() }
        for chunk in input.chunks {
            guard (try? socket.send(chunk)) != nil else { return }
        }
        if input.vanish { return }
        // The first bytes of the answer, then whatever follows at once; a kept-alive answer is not waited out.
        guard case .bytes = socket.receive(deadline: .after(.milliseconds(200))) else { return }
        while case .bytes = socket.receive(deadline: .after(.milliseconds(10))) {}
    }

    /// Sends one more byte; true when the node has closed the connection (an answer, then the end).
    static func isClosedByPeer(_ socket: TCPSocket) -> Bool {
        if (try? socket.send("x")) == nil { return true }
        while true {
            switch socket.receive(deadline: .after(.milliseconds(1))) {
            case .closed: return true
            case .timeout: return false
            case .bytes: continue
            }
        }
    }

    /// Clients that send a request a byte at a time: each is cut off at the request deadline.
    /// - Returns: how many of them the node closed within `within`.
    static func trickle(clients: Int, port: UInt16, within: Duration) -> Int {
        let sockets = (0..<clients).compactMap { _ in try? TCPSocket(port: port) }
        defer { for socket in sockets { socket.close() } }
        var open = Set(sockets.indices)
        for index in open { try? sockets[index].send("POST /pub?id=slow HTTP/1.1\r\nContent-Length: 500\r\n\r\n") }
        let end = ContinuousClock.now + within
        while !open.isEmpty, ContinuousClock.now < end {
            for index in open where isClosedByPeer(sockets[index]) { open.remove(index) }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return sockets.count - open.count
    }
}

extension HeraldProcess {
    /// The process's resident memory (`VmRSS`), nil once it has exited.
    var residentBytes: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        return kib * 1024
    }
}
