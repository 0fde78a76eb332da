import HeraldCore
import HeraldPublisher
import HeraldRedis
import HeraldTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import HeraldServer

/// A node's registry as presence sees it: a crowd that arrived since the last beat, handed out once.
private final class ArrivedCrowd: MessageSink, Sendable {
    let users: [String]
    private let taken = NIOLockedValueBox(false)

    init(users: [String]) { self.users = users }

    func takePresenceChanges(everything: Bool) -> PresenceChanges {
        let first = taken.withLockedValue { taken in
            defer { taken = true }
            return !taken
        }
        guard first else { return PresenceChanges() }
        return PresenceChanges(
            users: users.map { ($0, 1) }, channels: users.map { (channel: "lobby", user: $0, connections: 1) })
    }
    func restorePresenceChanges(_ changes: PresenceChanges) {}
    func deliver(_ message: Message) {}
    func channelDeleted(_ channel: String, notice: Message) {}
    func deliverGap(_ channel: String, resumeAt point: StreamPoint, idsReused: Bool) {}
    func localSubscriberCounts() -> [String: Int] { [:] }
    func localPresence(channel: String) -> [String: Int] { [:] }
    func localPresence(user: String) -> Int { 0 }
}

/// A node that stops while a beat's presence writes are still going out, batch after batch.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisPresenceStopTests {
    /// 150 users on one channel are 600 commands: three batches, each sent once the one before is
    /// answered. The stop comes right after the first is sent. Had it removed the run's entries
    /// then, the later batches would land after the removal and leave entries no run lists, which
    /// no live node would ever remove: those users would count as online on this run for good.
    @Test func aStopDuringABeatsWritesLeavesNoEntryBehind() async throws {
        try await withRedisServer { server in
            // One loop: the beat's batches and the removal share one connection, in order.
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let url = RedisURL(host: "127.0.0.1", port: Int(server.port))
            let client = RedisClient(url: url, eventLoopGroup: group, logger: Logger(label: "test"))
            try await client.start().get()
            let keys = RedisKeys(prefix: "herald:")
            let presence = RedisPresence(client: client, keys: keys)
            let crowd = ArrivedCrowd(users: (0..<150).map { "user\($0)" })
            let loop = group.next()
            let expiry = Int(UnixClock.milliseconds()) + 5_000
            // The beat sends its first batch; the stop follows in the same turn of the loop.
            try await loop.flatSubmit {
                presence.beat(crowd, expiry: expiry, registered: true, on: loop)
                return presence.removeOwn()
            }.get()
            // Whatever the beat still had to send has gone out and been answered by now.
            #expect(try await client.send(["PING"]).get() == .simpleString("PONG"))

            var left: [String] = []
            for user in crowd.users {
                let entry = try await client.send([
                    "HGET", RedisArgument(keys.userPresence(user)), RedisArgument(presence.run),
                ]).get()
                if entry != .null { left.append(user) }
            }
            let lobby = try await client.send(["HLEN", RedisArgument(keys.presence("lobby"))]).get()
            #expect(left.isEmpty, "\(left.count) users left online by a stopped run")
            #expect(lobby == .integer(0))
            #expect(
                try await client.send(["EXISTS", RedisArgument(keys.runPresence(presence.run))]).get() == .integer(0))
            try await client.shutdown().get()
            try await group.shutdownGracefully()
        }
    }
}
