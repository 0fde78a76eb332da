import HeraldRedis
import HeraldTesting
import NIOCore
import Testing

@Suite("RedisClient: the long-lived, reconnecting command client")
struct RedisClientTests {
    /// Quick reconnects; a command timeout long enough for a loaded machine (or a sanitizer build).
    static let fast = RedisClient.Settings(
        connectTimeout: .seconds(10),
        commandTimeout: .seconds(10),
        reconnectInitialDelay: .milliseconds(20),
        reconnectMaxDelay: .milliseconds(200)
    )

    @Test("commands work, scripts work, and shutdown is final")
    func basics() async throws {
        try await withRedisServer { server in
            let client = RedisClient(url: server.url(), eventLoopGroup: testGroup, logger: quietLogger)
            let states = Recorder<RedisConnectionState>()
            client.onStateChange = { states.record($0) }
            #expect(!client.isConnected)
            await #expect(throws: RedisError.notConnected) {
                try await client.send(["PING"]).get()
            }
            try await client.start().get()
            #expect(client.isConnected)
            #expect(try await client.send(["SET", "a", 1]).get() == .simpleString("OK"))
            #expect(try await client.send(batch: [["INCR", "a"], ["GET", "a"]]).get() == [.integer(2), .bulk("2")])
            #expect(try await client.evalScript(RedisScript("return ARGV[1]"), arguments: ["x"]).get() == .bulk("x"))
            try await client.shutdown().get()
            #expect(!client.isConnected)
            await #expect(throws: RedisError.shutDown) {
                try await client.send(["PING"]).get()
            }
            try await eventually("shutDown reported") { states.values.last == .shutDown }
            #expect(states.values.first == .connected)
        }
    }

    @Test("redis stopped and restarted on the same port: fail fast while down, recover after")
    func restart() async throws {
        try await withRedisServer { server in
            let client = RedisClient(
                url: server.url(), eventLoopGroup: testGroup, settings: Self.fast, logger: quietLogger)
            let states = Recorder<RedisConnectionState>()
            client.onStateChange = { states.record($0) }
            try await client.start().get()
            let blocked = client.send(["BLPOP", "never", 0])
            try await server.terminate()
            await #expect(throws: RedisError.connectionClosed) {
                try await blocked.get()
            }
            try await eventually("client notices") { !client.isConnected }
            let started = ContinuousClock.now
            await #expect(throws: RedisError.notConnected) {
                try await client.send(["PING"]).get()
            }
            #expect(ContinuousClock.now - started < .seconds(1), "fails fast, not queued")
            try await server.restart()
            try await eventually("client reconnects") { client.isConnected }
            #expect(try await client.send(["PING"]).get() == .simpleString("PONG"))
            // One report per change, however many retries the outage took.
            #expect(states.values == [.connected, .disconnected(.connectionClosed), .connected])
            try await client.shutdown().get()
            try await client.shutdown().get()
            try await eventually("shutDown reported once") { states.count == 4 }
            #expect(states.values.last == .shutDown)
        }
    }

    @Test("a client started while redis is down connects once it is up")
    func startBeforeRedis() async throws {
        let port = try FreePort.pick()
        let client = RedisClient(
            url: RedisURL(host: "127.0.0.1", port: Int(port)),
            eventLoopGroup: testGroup,
            settings: Self.fast,
            logger: quietLogger
        )
        let states = Recorder<RedisConnectionState>()
        client.onStateChange = { states.record($0) }
        await #expect(throws: RedisError.connectFailed("connection refused")) {
            try await client.start().get()
        }
        try await Task.sleep(for: .milliseconds(300))  // several retries
        let server = try await RedisServerProcess.start(port: port)
        do {
            try await eventually("client connects") { client.isConnected }
            #expect(try await client.send(["PING"]).get() == .simpleString("PONG"))
            #expect(states.values == [.disconnected(.connectFailed("connection refused")), .connected])
        } catch {
            Issue.record(error)
        }
        try await client.shutdown().get()
        server.stop()
    }

    @Test("a paused redis: commands time out, the client reconnects after SIGCONT")
    func pausedRedis() async throws {
        try await withRedisServer { server in
            var settings = Self.fast
            settings.commandTimeout = .seconds(1)
            let client = RedisClient(
                url: server.url(), eventLoopGroup: testGroup, settings: settings, logger: quietLogger)
            try await client.start().get()
            server.pause()
            await #expect(throws: RedisError.timeout) {
                try await client.send(["PING"]).get()
            }
            try await eventually("client drops the dead connection") { !client.isConnected }
            server.resume()
            try await eventually("client reconnects") { client.isConnected }
            #expect(try await client.send(["PING"]).get() == .simpleString("PONG"))
            try await client.shutdown().get()
        }
    }
}
