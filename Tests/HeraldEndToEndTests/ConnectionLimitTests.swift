import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import HeraldTesting
#endif

/// How many connections a node holds, in all and from one address, and what the rest get.
@Suite(.timeLimit(.minutes(1)))
struct ConnectionLimitTests {
    /// Opens `count` connections that send nothing.
    static func openIdle(_ count: Int, port: UInt16, source: String? = nil) async throws -> [TCPSocket] {
        try await Blocking.run { try (0..<count).map { _ in try TCPSocket(port: port, source: source) } }
    }

    /// Whether the node refused `socket`: it answered a bare 503 (or nothing) and closed it.
    static func wasRefused(_ socket: TCPSocket, within timeout: Duration = .seconds(3)) async throws -> Bool {
        try await Blocking.run {
            let deadline = Deadline.after(timeout)
            var received: [UInt8] = []
            while true {
                switch socket.receive(deadline: deadline) {
                case .bytes(let bytes): received += bytes
                case .timeout: return false
                case .closed:
                    return received.isEmpty || String(decoding: received, as: UTF8.self).hasPrefix("HTTP/1.1 503")
                }
            }
        }
    }

    /// Whether `socket` is still open after `wait`: the node kept it.
    static func isKept(_ socket: TCPSocket, wait: Duration = .milliseconds(300)) async throws -> Bool {
        try await Blocking.run {
            if case .timeout = socket.receive(deadline: .after(wait)) { return true }
            return false
        }
    }

    @Test func connectionsPastTheLimitAreRefusedWhileTheAdminListenerAndSubscribersCarryOn() async throws {
        let node = try await HeraldProcess.start(["--max-connections", "8", "--max-connections-per-address", "0"])
        defer { node.stop() }
        let subscriber = try await HTTPStream.connect(port: node.port, "/ev/kept")
        defer { subscriber.close() }
        try #require(try await node.waitForSubscribers("kept", count: 1))
        let held = try await Self.openIdle(7, port: node.port)
        defer { for socket in held { socket.close() } }
        for socket in held { #expect(try await Self.isKept(socket, wait: .milliseconds(50))) }

        let extra = try await Self.openIdle(5, port: node.port)
        defer { for socket in extra { socket.close() } }
        for socket in extra { #expect(try await Self.wasRefused(socket)) }

        #expect(try await node.admin("GET", "/healthz").status == 200)
        try await node.publish("kept", "still here")
        #expect(try await subscriber.readUntil(contains: "still here"))

        // A connection that closes makes room for another.
        held[0].close()
        try await Task.sleep(for: .milliseconds(200))
        let next = try await HTTPStream.connect(port: node.port, "/ev/next")
        defer { next.close() }
        #expect(next.status == 200)
    }

    /// The finding itself: with descriptors nearly used up by one client's connections, the admin
    /// listener used to stop answering. By default the public listener now stops short of the
    /// descriptor limit.
    @Test(.enabled(if: HeraldProcess.canLimitFiles, "needs prlimit"))
    func runningOutOfDescriptorsDoesNotSilenceTheAdminListener() async throws {
        let node = try await HeraldProcess.start(fileLimit: 300)
        defer { node.stop() }
        let subscriber = try await HTTPStream.connect(port: node.port, "/ev/kept")
        defer { subscriber.close() }
        try #require(try await node.waitForSubscribers("kept", count: 1))

        let flood = try await Self.openIdle(400, port: node.port)
        defer { for socket in flood { socket.close() } }
        try await Task.sleep(for: .milliseconds(500))

        let health = try? await RawHTTPClient.request(
            port: node.adminPort, "GET", "/healthz", headers: [], body: nil, timeout: .seconds(2))
        #expect(health?.status == 200, "admin listener: \(health.map { "\($0.status)" } ?? "no answer")")
        try await node.publish("kept", "after the flood")
        #expect(try await subscriber.readUntil(contains: "after the flood"))
        #expect(try await Self.wasRefused(flood[flood.count - 1]))
    }

    @Test func connectionsFromOneAddressAreLimited() async throws {
        let node = try await HeraldProcess.start(["--max-connections-per-address", "3"])
        defer { node.stop() }
        let held = try await Self.openIdle(3, port: node.port)
        defer { for socket in held { socket.close() } }
        for socket in held { #expect(try await Self.isKept(socket, wait: .milliseconds(50))) }
        let fourth = try await Self.openIdle(1, port: node.port)
        defer { fourth[0].close() }
        #expect(try await Self.wasRefused(fourth[0]))
        // Another address is another client.
        let other = try await Self.openIdle(1, port: node.port, source: "127.0.0.2")
        defer { other[0].close() }
        #expect(try await Self.isKept(other[0]))
        // The admin listener does not count per address.
        #expect(try await node.admin("GET", "/healthz").status == 200)
    }
}
