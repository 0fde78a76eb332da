import ArgumentParser
import Foundation
import HeraldCore
import HeraldPublisher
import HeraldRedis
import Logging
import NIOCore
import NIOPosix

/// `herald publish`: publish one message from a shell or a cron job, straight into Redis.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish a message to one or more channels through Redis.",
        discussion: """
            Prints the message's id, time and tag per channel. TEXT '-' (or none) reads the message from \
            standard input. Use the same storage settings as the nodes.

            Examples:
              herald publish news "the paper is out"
              herald publish --redis-cluster redis://10.0.0.5:7000,redis://10.0.0.6:7000 news hi
              echo '{"score": 3}' | herald publish --redis redis://10.0.0.5:6379 \\
                --event-type score match:7
            """
    )

    @Option(help: "Redis of the cluster.") var redis = "redis://127.0.0.1:6379"
    @Option(help: "A Redis Cluster instead: seed URLs, comma-separated (the sharded publish script).")
    var redisCluster: String?
    @Option(help: "Event id of the message.") var eventId: String?
    @Option(help: "Event type of the message.") var eventType: String?
    @Option(help: "Run again with the same key within the window, the message is not published twice.")
    var idempotencyKey: String?
    @Option(help: "How long the idempotency key is remembered.") var idempotencyWindow = TimeSpan.seconds(300)
    @Option(help: "Messages kept per channel.") var maxMessagesStoredPerChannel = 100
    @Option(help: "How long a stored message is kept.") var messageTtl = TimeSpan.seconds(600)
    @Option(help: "How long a channel's ids outlive its last publish.") var channelRetention = TimeSpan.seconds(86_400)
    @Flag(inversion: .prefixedNo, help: "Store the message in the backlog.") var storeMessages = true
    @Option(help: "Prefix of every Redis key.") var redisPrefix = "herald:"
    @Argument(help: "Channel, or several separated by '/'.") var channel: String
    @Argument(help: "The message; '-' or nothing reads standard input.") var text: String?

    func run() async throws {
        let url: RedisURL
        let seeds: [RedisURL]?
        do {
            url = try RedisURL(redis)
            seeds = try redisCluster.map { list in try list.split(separator: ",").map { try RedisURL(String($0)) } }
        } catch { throw ValidationError("\(error)") }
        if let seeds, seeds.isEmpty { throw ValidationError("--redis-cluster needs at least one seed URL.") }
        let channels = channel.split(separator: "/").map(String.init)
        guard !channels.isEmpty else { throw ValidationError("No channel given.") }
        let body: [UInt8] =
            text == nil || text == "-"
            ? Array(FileHandle.standardInput.readDataToEndOfFile()) : Array(text!.utf8)
        guard !body.isEmpty else { throw ValidationError("Empty message: nothing to publish.") }
        if let idempotencyKey, IdempotencyKey.validated(idempotencyKey) == nil {
            throw ValidationError("--idempotency-key: 1 to \(IdempotencyKey.maxLength) visible ASCII characters.")
        }

        var settings = HeraldPublisher.Settings()
        settings.maxMessagesStoredPerChannel = maxMessagesStoredPerChannel
        settings.messageTTL = messageTtl.seconds
        settings.channelRetention = channelRetention.seconds
        settings.storeMessages = storeMessages
        settings.keys = RedisKeys(prefix: redisPrefix)
        settings.idempotencyWindow = max(1, idempotencyWindow.seconds)

        settings.sharded = seeds != nil

        let group = MultiThreadedEventLoopGroup.singleton
        let logger = Logger(label: "herald.publish")
        let redis: any RedisCommandExecutor
        let close: () -> Void
        do {
            if let seeds {
                let cluster = RedisClusterClient(seeds: seeds, eventLoopGroup: group, logger: logger)
                try await cluster.start().get()
                (redis, close) = (cluster, { _ = cluster.shutdown() })
            } else {
                let connection = try await RedisConnection.connect(to: url, on: group, logger: logger).get()
                (redis, close) = (connection, { _ = connection.close() })
            }
        } catch {
            FileHandle.standardError.write(Data("herald: \(error)\n".utf8))
            throw ExitCode.failure
        }
        defer { close() }
        let publisher = HeraldPublisher(redis: redis, settings: settings)
        do {
            let message = HeraldPublisher.Outgoing(
                channels: channels, text: body, eventID: eventId, eventType: eventType, idempotencyKey: idempotencyKey)
            let results = try await publisher.publish(batch: [message]).get()
            for result in results { print("\(result.channel) id=\(result.id) time=\(result.time) tag=\(result.tag)") }
        } catch {
            FileHandle.standardError.write(Data("herald: publish failed: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

/// `herald redis-scripts`: print a Lua script, for applications that publish from another language.
struct RedisScriptsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis-scripts",
        abstract: "Print one of Herald's Redis scripts (see docs/REDIS.md).",
        discussion: """
            Example:
              herald redis-scripts publish > herald-publish.lua
            """
    )

    enum Name: String, ExpressibleByArgument, CaseIterable {
        case publish, read, fence, delete, create
        case publishSharded = "publish-sharded"
        case deleteSharded = "delete-sharded"
        case createSharded = "create-sharded"
    }

    @Argument(help: "publish, read, fence, delete, create; on a Redis Cluster: publish-, delete-, create-sharded.")
    var name: Name

    func run() {
        switch name {
        case .publish: print(RedisScripts.publish)
        case .publishSharded: print(RedisScripts.publishSharded)
        case .read: print(RedisScripts.read)
        case .fence: print(RedisScripts.fence)
        case .delete: print(RedisScripts.delete)
        case .deleteSharded: print(RedisScripts.deleteSharded)
        case .create: print(RedisScripts.create)
        case .createSharded: print(RedisScripts.createSharded)
        }
    }
}
