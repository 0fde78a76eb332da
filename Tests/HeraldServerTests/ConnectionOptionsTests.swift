import HeraldCore
import HeraldTesting
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

@testable import HeraldServer

/// The socket options every accepted connection gets, read back from a node on real sockets.
@Suite struct ConnectionOptionsTests {
    struct Options: Equatable {
        var noDelay: Bool
        var highWater: Int
        var messagesPerRead: UInt
    }

    /// Starts a node on free ports, connects one client to `role`'s listener, reads the options of
    /// the connection the node accepted, then stops the node.
    private func acceptedOptions(
        _ role: ListenerRole, _ configure: (inout NodeSettings) -> Void
    ) async throws -> Options {
        var settings = NodeSettings()
        settings.host = "127.0.0.1"
        settings.adminHost = "127.0.0.1"
        settings.port = 0
        settings.adminPort = 0
        settings.threads = 1
        settings.pingMessageInterval = nil
        configure(&settings)
        let node = try HeraldNode(settings: settings, logger: Logger(label: "test"))
        let services = ServiceGroup(services: [node], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            defer { tasks.cancelAll() }
            var port: Int?
            for _ in 0..<200 where port == nil {
                let bound = node.boundAddresses
                port = (role == .public ? bound.public : bound.admin)?.port
                if port == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            let client = try TCPSocket(port: UInt16(try #require(port)))
            defer { client.close() }
            var accepted: (any Channel)?
            for _ in 0..<200 where accepted == nil {
                accepted = node.context.connections.all.first
                if accepted == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            let channel = try #require(accepted)
            let options = Options(
                noDelay: try await channel.getOption(.tcpOption(.tcp_nodelay)) != 0,
                highWater: try await channel.getOption(.writeBufferWaterMark).high,
                messagesPerRead: try await channel.getOption(.maxMessagesPerRead))
            await services.triggerGracefulShutdown()
            return options
        }
    }

    @Test func subscribersAreSentToAtOnceWithTheirBufferLimitByDefault() async throws {
        let options = try await acceptedOptions(.public) { $0.maxSubscriberBuffer = ByteSize(bytes: 96 * 1024) }
        #expect(options == Options(noDelay: true, highWater: 96 * 1024, messagesPerRead: 4))
    }

    @Test func writeCoalescingLeavesNaglesAlgorithmOnForSubscribersOnly() async throws {
        let subscriber = try await acceptedOptions(.public) { $0.writeCoalescing = true }
        #expect(!subscriber.noDelay)
        let publisher = try await acceptedOptions(.admin) { $0.writeCoalescing = true }
        #expect(publisher.noDelay)
    }
}
