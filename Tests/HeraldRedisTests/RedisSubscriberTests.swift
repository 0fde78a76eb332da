import HeraldRedis
import HeraldTesting
import NIOCore
import Testing

@testable import HeraldRedis

@Suite("RedisSubscriber: the pub/sub connection")
struct RedisSubscriberTests {
    /// Quick reconnects; a command timeout long enough for a loaded machine (or a sanitizer build).
    static let fast = RedisSubscriber.Settings(
        connectTimeout: .seconds(10),
        commandTimeout: .seconds(10),
        reconnectInitialDelay: .milliseconds(20),
        reconnectMaxDelay: .milliseconds(200)
    )

    /// A message as received.
    struct Message: Sendable, Equatable {
        var channel: String
        var payload: [UInt8]
    }

    static func makeSubscriber(
        _ server: RedisServerProcess,
        settings: RedisSubscriber.Settings = fast
    ) -> (RedisSubscriber, Recorder<Message>) {
        let messages = Recorder<Message>()
        let subscriber = RedisSubscriber(
            url: server.url(),
            eventLoopGroup: testGroup,
            settings: settings,
            logger: quietLogger
        ) { channel, payload in
            messages.record(Message(channel: channel, payload: Array(payload.readableBytesView)))
        }
        return (subscriber, messages)
    }

    /// The channels Redis has subscribers for, sorted.
    static func channels(_ redis: RedisConnection, pattern: String = "*") async throws -> [String] {
        let reply = try await redis.send(["PUBSUB", "CHANNELS", RedisArgument(pattern)]).get()
        return (reply.array ?? []).compactMap(\.string).sorted()
    }

    @Test("subscribe completes once Redis confirmed; publishes then arrive in order, binary-safe")
    func subscribeThenPublish() async throws {
        try await withRedisServer { server in
            let (subscriber, messages) = Self.makeSubscriber(server)
            try await subscriber.start().get()
            try await subscriber.subscribe(["a", "b"]).get()
            let publisher = try await connect(server.url())
            // Confirmed means subscribed: a publish right after reaches the subscriber.
            #expect(try await publisher.send(["PUBLISH", "a", "first"]).get() == .integer(1))
            var futures: [EventLoopFuture<RESPValue>] = []
            for index in 0..<2_000 {
                let channel: RedisArgument = index.isMultiple(of: 3) ? "b" : "a"
                futures.append(publisher.send(["PUBLISH", channel, RedisArgument(index)]))
            }
            futures.append(publisher.send(["PUBLISH", "b", RedisArgument([0, 13, 10, 255])]))
            futures.append(publisher.send(["PUBLISH", "unsubscribed", "x"]))
            for future in futures {
                _ = try await future.get()
            }
            try await eventually("all messages") { messages.count == 2_002 }
            let received = messages.values
            #expect(received[0] == Message(channel: "a", payload: Array("first".utf8)))
            for index in 0..<2_000 {
                let channel = index.isMultiple(of: 3) ? "b" : "a"
                #expect(received[index + 1] == Message(channel: channel, payload: Array("\(index)".utf8)))
            }
            #expect(received.last == Message(channel: "b", payload: [0, 13, 10, 255]))
            #expect(try await Self.channels(publisher) == ["a", "b"])
            // Subscribing again to confirmed channels completes at once.
            try await subscriber.subscribe(["a"]).get()
            try await subscriber.shutdown().get()
            try await publisher.close().get()
        }
    }

    @Test("subscribes within one event-loop tick go out as one SUBSCRIBE command")
    func batching() async throws {
        try await withRedisServer { server in
            let (subscriber, _) = Self.makeSubscriber(server)
            try await subscriber.start().get()
            let futures = try await subscriber.eventLoop.submit {
                (0..<500).map { subscriber.subscribe(["channel-\($0)"]) }
            }.get()
            for future in futures {
                try await future.get()
            }
            let redis = try await connect(server.url())
            #expect(try await Self.channels(redis).count == 500)
            let stats = try await redis.send(["INFO", "commandstats"]).get().string ?? ""
            #expect(stats.contains("cmdstat_subscribe:calls=1,"), "\(stats)")
            // And one UNSUBSCRIBE for many channels in one tick.
            try await subscriber.eventLoop.submit {
                for index in 0..<250 {
                    subscriber.unsubscribe(["channel-\(index)"])
                }
            }.get()
            try await subscriber.settle().get()
            #expect(try await Self.channels(redis).count == 250)
            let after = try await redis.send(["INFO", "commandstats"]).get().string ?? ""
            #expect(after.contains("cmdstat_unsubscribe:calls=1,"), "\(after)")
            try await subscriber.shutdown().get()
            try await redis.close().get()
        }
    }

    @Test("subscribe and unsubscribe races for one name end in the state of the last call")
    func races() async throws {
        try await withRedisServer { server in
            let (subscriber, messages) = Self.makeSubscriber(server)
            try await subscriber.start().get()
            let redis = try await connect(server.url())
            let loop = subscriber.eventLoop

            // Same tick: subscribe, unsubscribe, subscribe → subscribed.
            let last = try await loop.submit { () -> EventLoopFuture<Void> in
                let first = subscriber.subscribe(["x"])
                subscriber.unsubscribe(["x"])
                first.whenSuccess { Issue.record("a withdrawn subscription succeeded") }
                return subscriber.subscribe(["x"])
            }.get()
            try await last.get()
            #expect(try await Self.channels(redis) == ["x"])

            // Separate writes in flight: unsubscribe then subscribe before Redis answered.
            let again = try await loop.submit { () -> EventLoopFuture<Void> in
                subscriber.unsubscribe(["x"])
                _ = subscriber.settle()  // the UNSUBSCRIBE goes out now
                return subscriber.subscribe(["x"])
            }.get()
            try await again.get()
            #expect(try await Self.channels(redis) == ["x"])
            #expect(try await redis.send(["PUBLISH", "x", "still"]).get() == .integer(1))

            // Subscribe then unsubscribe before confirmation → withdrawn, and not subscribed.
            let withdrawn = try await loop.submit { () -> EventLoopFuture<Void> in
                let future = subscriber.subscribe(["y"])
                _ = subscriber.settle()
                subscriber.unsubscribe(["y"])
                return future
            }.get()
            await #expect(throws: RedisError.subscriptionWithdrawn) {
                try await withdrawn.get()
            }
            try await subscriber.settle().get()
            #expect(try await Self.channels(redis) == ["x"])

            // Random interleavings over a few names, with random batch boundaries.
            var generator = SplitMix(seed: 42)
            var expected: Set<String> = ["x"]
            for _ in 0..<400 {
                let name = "r\(Int.random(in: 0..<4, using: &generator))"
                let subscribe = Bool.random(using: &generator)
                let flush = Int.random(in: 0..<3, using: &generator) == 0
                if subscribe {
                    expected.insert(name)
                } else {
                    expected.remove(name)
                }
                try await loop.submit {
                    if subscribe {
                        _ = subscriber.subscribe([name])
                    } else {
                        subscriber.unsubscribe([name])
                    }
                    if flush {
                        _ = subscriber.settle()
                    }
                }.get()
            }
            try await subscriber.settle().get()
            #expect(try await Self.channels(redis) == expected.sorted())
            try await subscriber.subscribe(Array(expected)).get()
            _ = try await redis.send(["PUBLISH", "r0", "r0"]).get()
            _ = try await redis.send(["PUBLISH", "x", "end"]).get()
            try await eventually("the last message") { messages.values.last?.payload == Array("end".utf8) }
            #expect(messages.values.contains { $0.channel == "r0" } == expected.contains("r0"))
            try await subscriber.shutdown().get()
            try await redis.close().get()
        }
    }

    @Test("CLIENT KILL TYPE pubsub: disconnect reported, reconnect, re-subscribe, onResubscribed, messages flow")
    func killedConnection() async throws {
        try await withRedisServer { server in
            let (subscriber, messages) = Self.makeSubscriber(server)
            let disconnects = Recorder<RedisError>()
            let resubscribes = Recorder<Bool>()
            subscriber.onDisconnect = { disconnects.record($0) }
            subscriber.onResubscribed = { resubscribes.record(subscriber.isConnected) }
            try await subscriber.start().get()
            try await eventually("first onResubscribed") { resubscribes.count == 1 }
            try await subscriber.subscribe(["news", "sport"]).get()
            let redis = try await connect(server.url())
            #expect(try await redis.send(["CLIENT", "KILL", "TYPE", "pubsub"]).get() == .integer(1))
            try await eventually("onDisconnect") { disconnects.count == 1 }
            #expect(disconnects.values == [.connectionClosed])
            try await eventually("onResubscribed after reconnecting") { resubscribes.count == 2 }
            #expect(resubscribes.values == [true, true])
            #expect(try await Self.channels(redis) == ["news", "sport"])
            #expect(try await redis.send(["PUBLISH", "sport", "goal"]).get() == .integer(1))
            try await eventually("message after reconnect") { messages.count == 1 }
            #expect(messages.values == [Message(channel: "sport", payload: Array("goal".utf8))])
            try await subscriber.shutdown().get()
            try await redis.close().get()
        }
    }

    @Test("redis stopped and restarted on the same port: subscriber and client both recover")
    func restart() async throws {
        try await withRedisServer { server in
            let (subscriber, messages) = Self.makeSubscriber(server)
            let client = RedisClient(
                url: server.url(),
                eventLoopGroup: testGroup,
                settings: RedisClientTests.fast,
                logger: quietLogger
            )
            let resubscribes = Recorder<Int>()
            subscriber.onResubscribed = { resubscribes.record(1) }
            try await subscriber.start().get()
            try await client.start().get()
            try await subscriber.subscribe(["ch"]).get()
            try await server.terminate()
            try await eventually("both notice") { !subscriber.isConnected && !client.isConnected }
            await #expect(throws: RedisError.notConnected) {
                try await subscriber.subscribe(["later"]).get()
            }
            try await server.restart()
            try await eventually("resubscribed") { resubscribes.count == 2 }
            try await eventually("client reconnected") { client.isConnected }
            // "later" stayed desired though its future failed, and is subscribed too.
            #expect(
                try await client.send(["PUBSUB", "NUMSUB", "ch", "later"]).get().array?.compactMap(\.int) == [1, 1])
            #expect(try await client.send(["PUBLISH", "ch", "back"]).get() == .integer(1))
            try await eventually("message after restart") { messages.count == 1 }
            try await subscriber.shutdown().get()
            try await client.shutdown().get()
        }
    }

    @Test("a paused redis is noticed by the PING check; the subscriber comes back after SIGCONT")
    func livenessCheck() async throws {
        try await withRedisServer { server in
            var settings = Self.fast
            // Generous enough that a loaded machine (the whole suite runs in parallel on two cores) does
            // not take a slow PING answer for a dead Redis after SIGCONT.
            settings.pingInterval = .milliseconds(200)
            settings.commandTimeout = .seconds(3)
            let (subscriber, messages) = Self.makeSubscriber(server, settings: settings)
            let disconnects = Recorder<RedisError>()
            let resubscribes = Recorder<Int>()
            subscriber.onDisconnect = { disconnects.record($0) }
            subscriber.onResubscribed = { resubscribes.record(1) }
            try await subscriber.start().get()
            try await subscriber.subscribe(["c"]).get()
            server.pause()
            try await eventually("dead connection noticed") { disconnects.count == 1 }
            server.resume()
            try await eventually("resubscribed") { resubscribes.count >= 2 && subscriber.isConnected }
            let redis = try await connect(server.url())
            try await eventually("subscribed again") { try await Self.channels(redis) == ["c"] }
            _ = try await redis.send(["PUBLISH", "c", "alive"]).get()
            try await eventually("message") { messages.count == 1 }
            try await subscriber.shutdown().get()
            try await redis.close().get()
        }
    }

    @Test("sharded pub/sub (SSUBSCRIBE, SPUBLISH) with the sharded command names")
    func sharded() async throws {
        try await withRedisServer { server in
            var settings = Self.fast
            settings.commands = .sharded
            let (subscriber, messages) = Self.makeSubscriber(server, settings: settings)
            try await subscriber.start().get()
            try await subscriber.subscribe(["{c}1", "{c}2"]).get()
            let redis = try await connect(server.url())
            #expect(try await redis.send(["SPUBLISH", "{c}2", "hi"]).get() == .integer(1))
            try await eventually("sharded message") { messages.count == 1 }
            #expect(messages.values == [Message(channel: "{c}2", payload: Array("hi".utf8))])
            subscriber.unsubscribe(["{c}2"])
            try await subscriber.settle().get()
            let shards = try await redis.send(["PUBSUB", "SHARDCHANNELS"]).get()
            #expect(shards.array?.compactMap(\.string) == ["{c}1"])
            try await subscriber.shutdown().get()
            try await redis.close().get()
        }
    }

    @Test("subscribing before the connection is up fails fast; shutdown fails what waits")
    func notConnected() async throws {
        try await withRedisServer { server in
            let (subscriber, _) = Self.makeSubscriber(server)
            await #expect(throws: RedisError.notConnected) {
                try await subscriber.subscribe(["a"]).get()
            }
            try await subscriber.start().get()
            try await eventually("subscribed (a stayed desired)") {
                let redis = try await connect(server.url())
                defer { redis.close() }
                return try await Self.channels(redis) == ["a"]
            }
            try await subscriber.shutdown().get()
            await #expect(throws: RedisError.shutDown) {
                try await subscriber.subscribe(["b"]).get()
            }
        }
    }
}
