import HeraldRedis
import HeraldTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

@Suite("RedisConnection against a real redis-server")
struct RedisConnectionTests {
    @Test("values of every RESP type come back from Redis")
    func everyType() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url())
            #expect(try await redis.send(["PING"]).get() == .simpleString("PONG"))
            #expect(try await redis.send(["SET", "k", "v"]).get() == .simpleString("OK"))
            #expect(try await redis.send(["GET", "k"]).get() == .bulk("v"))
            #expect(try await redis.send(["GET", "missing"]).get() == .null)
            #expect(try await redis.send(["INCRBY", "n", -5]).get() == .integer(-5))
            #expect(try await redis.send(["RPUSH", "l", "a", "b"]).get() == .integer(2))
            #expect(try await redis.send(["LRANGE", "l", 0, -1]).get() == .array([.bulk("a"), .bulk("b")]))
            #expect(try await redis.send(["LRANGE", "nothing", 0, -1]).get() == .array([]))
            let nested = try await redis.send(["EVAL", "return {1, {'x', {}}, false, 'y'}", 0]).get()
            // Lua false becomes a null, and a Lua array stops at the first nil.
            #expect(nested == .array([.integer(1), .array([.bulk("x"), .array([])]), .null, .bulk("y")]))
            let status = try await redis.send(["EVAL", "return redis.status_reply('FINE')", 0]).get()
            #expect(status == .simpleString("FINE"))
            await #expect(throws: RedisError.server("ERR unknown command 'NOPE', with args beginning with: ")) {
                try await redis.send(["NOPE"]).get()
            }
            #expect(try await redis.send(["PING"]).get() == .simpleString("PONG"), "still usable after an error")
            try await redis.close().get()
        }
    }

    @Test("bulk strings are binary-safe: every byte value, CR LF and NUL, in keys and values")
    func binarySafe() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url())
            let value = (0...255).map { UInt8($0) } + Array("\r\n\0\r\n$3\r\n".utf8)
            let key: [UInt8] = [0, 13, 10, 0xFF, 0x20]
            _ = try await redis.send(["SET", RedisArgument(key), RedisArgument(value)]).get()
            #expect(try await redis.send(["GET", RedisArgument(key)]).get() == .bulkString(value))
            #expect(try await redis.send(["STRLEN", RedisArgument(key)]).get() == .integer(value.count))
            let big = [UInt8](repeating: 0x5A, count: 3_000_000)
            _ = try await redis.send(["SET", "big", RedisArgument(big)]).get()
            #expect(try await redis.send(["GET", "big"]).get() == .bulkString(big))
            #expect(try await redis.send(["SET", "empty", ""]).get() == .simpleString("OK"))
            #expect(try await redis.send(["GET", "empty"]).get() == .bulkString([]))
            try await redis.close().get()
        }
    }

    @Test("10,000 pipelined commands are answered in order")
    func pipelining() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url())
            let futures = (1...10_000).map { index in
                index.isMultiple(of: 2) ? redis.send(["INCR", "counter"]) : redis.send(["ECHO", RedisArgument(index)])
            }
            var increments = 0
            for (offset, future) in futures.enumerated() {
                let index = offset + 1
                let reply = try await future.get()
                if index.isMultiple(of: 2) {
                    increments += 1
                    #expect(reply == .integer(increments))
                } else {
                    #expect(reply == .bulk("\(index)"))
                }
            }
            #expect(increments == 5_000)
            try await redis.close().get()
        }
    }

    @Test("commands from many threads at once each get their own reply")
    func concurrentSenders() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for index in 0..<300 {
                            let text = "\(task)-\(index)"
                            let reply = try await redis.send(["ECHO", RedisArgument(text)]).get()
                            #expect(reply == .bulk(text))
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await redis.close().get()
        }
    }

    @Test("a batch is one write; an error reply stays inside the array")
    func batchWithError() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url())
            let replies = try await redis.send(batch: [
                ["SET", "s", "text"],
                ["INCR", "s"],
                ["GET", "s"],
                ["LPUSH", "s", "x"],
                ["ECHO", "last"],
            ]).get()
            #expect(replies.count == 5)
            #expect(replies[0] == .simpleString("OK"))
            #expect(replies[1] == .error("ERR value is not an integer or out of range"))
            #expect(replies[2] == .bulk("text"))
            #expect(replies[3].errorMessage?.hasPrefix("WRONGTYPE") == true)
            #expect(replies[4] == .bulk("last"))
            #expect(try await redis.send(batch: []).get() == [])
            // Batches and single commands interleave in order.
            let first = redis.send(batch: [["INCR", "c"], ["INCR", "c"]])
            let single = redis.send(["INCR", "c"])
            let second = redis.send(batch: [["INCR", "c"]])
            #expect(try await first.get() == [.integer(1), .integer(2)])
            #expect(try await single.get() == .integer(3))
            #expect(try await second.get() == [.integer(4)])
            await #expect(throws: RedisError.invalidCommand("a command needs at least one argument")) {
                try await redis.send(batch: [["PING"], []]).get()
            }
            try await redis.close().get()
        }
    }

    @Test("EVALSHA runs a script; after SCRIPT FLUSH the NOSCRIPT reply falls back to EVAL")
    func scripts() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url())
            let script = RedisScript("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")
            let expectedSHA = try await redis.send(["SCRIPT", "EXISTS", RedisArgument(script.sha1)]).get()
            #expect(expectedSHA == .array([.integer(0)]))
            #expect(
                try await redis.evalScript(script, keys: ["n"], arguments: ["a"]).get()
                    == .array([.bulk("n"), .bulk("a"), .integer(1)])
            )
            #expect(
                try await redis.send(["SCRIPT", "EXISTS", RedisArgument(script.sha1)]).get() == .array([.integer(1)]))
            #expect(try await redis.evalScript(script, keys: ["n"], arguments: ["b"]).get().array?.last == .integer(2))
            _ = try await redis.send(["SCRIPT", "FLUSH"]).get()
            #expect(
                try await redis.send(["SCRIPT", "EXISTS", RedisArgument(script.sha1)]).get() == .array([.integer(0)]))
            #expect(try await redis.evalScript(script, keys: ["n"], arguments: ["c"]).get().array?.last == .integer(3))
            #expect(try await redis.scriptLoad(script).get() == script.sha1)
            let failing = RedisScript("return redis.error_reply('HERALD broken')")
            await #expect(throws: RedisError.server("HERALD broken")) {
                try await redis.evalScript(failing).get()
            }
            try await redis.close().get()
        }
    }

    @Test("AUTH with --requirepass; a wrong or missing password is a clear error; ACL users")
    func authentication() async throws {
        try await withRedisServer(arguments: ["--requirepass", "s3cret"]) { server in
            let redis = try await connect(server.url(password: "s3cret"))
            #expect(try await redis.send(["PING"]).get() == .simpleString("PONG"))
            _ = try await redis.send(["ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all"]).get()
            try await redis.close().get()

            let alice = try await connect(server.url(user: "alice", password: "pw"))
            #expect(try await alice.send(["ACL", "WHOAMI"]).get() == .bulk("alice"))
            try await alice.close().get()

            do {
                _ = try await connect(server.url(password: "wrong"))
                Issue.record("a wrong password connected")
            } catch let error as RedisError {
                #expect(error.description.hasPrefix("redis at 127.0.0.1:\(server.port): authentication failed: "))
                #expect(error.description.contains("WRONGPASS"))
            }
            do {
                _ = try await connect(server.url())
                Issue.record("a missing password connected")
            } catch let error as RedisError {
                #expect(error.description.contains("redis requires a password"))
            }
        }
    }

    @Test("the URL's database is selected")
    func selectDatabase() async throws {
        try await withRedisServer { server in
            let three = try await connect(try RedisURL("redis://127.0.0.1:\(server.port)/3"))
            _ = try await three.send(["SET", "where", "three"]).get()
            let zero = try await connect(server.url())
            #expect(try await zero.send(["GET", "where"]).get() == .null)
            _ = try await zero.send(["SELECT", 3]).get()
            #expect(try await zero.send(["GET", "where"]).get() == .bulk("three"))
            await #expect(throws: RedisError.server("ERR DB index is out of range")) {
                _ = try await connect(server.url(database: 99))
            }
            try await three.close().get()
            try await zero.close().get()
        }
    }

    @Test("a command with no reply fails with a timeout, fails the commands behind it, and closes")
    func commandTimeout() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url(), commandTimeout: .seconds(1))
            let started = ContinuousClock.now
            let blocked = redis.send(["BLPOP", "never", 30])
            let behind = redis.send(["PING"])
            await #expect(throws: RedisError.timeout) {
                try await blocked.get()
            }
            await #expect(throws: RedisError.timeout) {
                try await behind.get()
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            try await redis.closeFuture.get()
            #expect(!redis.isActive)
            await #expect(throws: RedisError.connectionClosed) {
                try await redis.send(["PING"]).get()
            }
        }
    }

    @Test("the timer an answered command leaves behind neither times out a later one early nor lets it hang")
    func timerLeftByAnAnsweredCommand() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url(), commandTimeout: .seconds(1))
            _ = try await redis.send(["PING"]).get()  // its timer, due in 1 s, is left to fire
            try await Task.sleep(for: .milliseconds(700))
            // Answered 0.6 s after it is sent: past the first command's deadline, within its own.
            #expect(try await redis.send(["BLPOP", "never", "0.6"]).get() == .null)
            // One that gets no answer still times out, by its own deadline.
            let sent = ContinuousClock.now
            await #expect(throws: RedisError.timeout) {
                try await redis.send(["BLPOP", "never", 30]).get()
            }
            let waited = ContinuousClock.now - sent
            #expect(waited >= .milliseconds(900) && waited < .seconds(4), "\(waited)")
        }
    }

    @Test("a paused redis (SIGSTOP) fails commands by the timeout instead of hanging")
    func pausedServer() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url(), commandTimeout: .seconds(1))
            server.pause()
            await #expect(throws: RedisError.timeout) {
                try await redis.send(["PING"]).get()
            }
            server.resume()
        }
    }

    @Test("commands sent on the connection's own event loop are answered in order, and fail once it is closed")
    func commandsFromTheConnectionsLoop() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url())
            // The engine sends from the connection's loop: those writes take a path of their own.
            let replies = try await redis.eventLoop.flatSubmit {
                let commands: [[RedisArgument]] = [["SET", "k", "v"], ["GET", "k"], ["PING"]]
                return EventLoopFuture.whenAllSucceed(commands.map { redis.send($0) }, on: redis.eventLoop)
            }.answered(within: 10)
            #expect(replies == [.simpleString("OK"), .bulk("v"), .simpleString("PONG")])
            try await redis.close().get()
            await #expect(throws: RedisError.connectionClosed) {
                try await redis.eventLoop.flatSubmit { redis.send(["PING"]) }.answered(within: 10)
            }
        }
    }

    @Test("close fails the commands in flight; closeFuture completes")
    func closing() async throws {
        try await withRedisServer { server in
            let redis = try await connect(server.url())
            let blocked = redis.send(["BLPOP", "never", 30])
            try await redis.close().get()
            await #expect(throws: RedisError.connectionClosed) {
                try await blocked.get()
            }
            try await redis.closeFuture.get()
            try await redis.close().get()  // closing twice is fine
        }
    }

    @Test("connecting to nothing says where and why; the failure is logged at info")
    func connectionRefused() async throws {
        let port = try FreePort.pick()
        let records = Recorder<MemoryLogHandler.Record>()
        let client = RedisClient(
            url: RedisURL(host: "127.0.0.1", port: Int(port)),
            eventLoopGroup: testGroup,
            settings: .init(reconnectInitialDelay: .seconds(10)),
            logger: Logger(label: "test", factory: { _ in MemoryLogHandler(records: records) })
        )
        do {
            try await client.start().get()
            Issue.record("connected to a closed port")
        } catch {
            #expect("\(error)" == "redis at 127.0.0.1:\(port): connection refused")
        }
        try await client.shutdown().get()
        let failure = records.values.first { $0.message == "redis connect failed; retrying" }
        #expect(failure?.level == .info)
        #expect(failure?.metadata["redis.address"] == "127.0.0.1:\(port)")
        #expect(records.values.allSatisfy { $0.level <= .info })
    }
}

extension EventLoopFuture where Value: Sendable {
    /// The future's value, or a failure once `seconds` pass without one: a command lost on its way
    /// to the handler fails the test instead of hanging it.
    fileprivate func answered(within seconds: Int64) async throws -> Value {
        let promise = eventLoop.makePromise(of: Value.self)
        cascade(to: promise)
        let timer = eventLoop.scheduleTask(in: .seconds(seconds)) {
            promise.fail(HarnessError("no answer in \(seconds) s"))
        }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }
}
