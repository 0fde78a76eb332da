import HeraldTesting
import Testing

@testable import HeraldRedis

@Suite("Redis URLs, errors, scripts and backoff (no server)")
struct RedisURLTests {
    @Test(
        "valid URLs",
        arguments: [
            ("redis://localhost", RedisURL(host: "localhost")),
            ("redis://127.0.0.1:6390", RedisURL(host: "127.0.0.1", port: 6390)),
            ("redis://h:1/15", RedisURL(host: "h", port: 1, database: 15)),
            ("redis://h/", RedisURL(host: "h")),
            ("REDIS://h/2", RedisURL(host: "h", database: 2)),
            ("redis://:secret@h", RedisURL(host: "h", password: "secret")),
            (
                "redis://alice:s%40cr%3At@h:7000/3",
                RedisURL(host: "h", port: 7000, database: 3, user: "alice", password: "s@cr:t")
            ),
            ("redis://:p@ss@h", RedisURL(host: "h", password: "p@ss")),
            ("redis://[::1]:6380/1", RedisURL(host: "::1", port: 6380, database: 1)),
            ("redis://[::1]", RedisURL(host: "::1")),
        ]
    )
    func valid(text: String, expected: RedisURL) throws {
        #expect(try RedisURL(text) == expected)
    }

    @Test(
        "invalid URLs fail with a reason a user can act on",
        arguments: [
            ("localhost:6379", "expected redis://"),
            ("rediss://h", "TLS) is not supported"),
            ("unix:///tmp/redis.sock", "unix sockets are not supported"),
            ("http://h", "unsupported scheme 'http'"),
            ("redis://", "missing host"),
            ("redis://:6379", "missing host"),
            ("redis://h:0", "port must be a number from 1 to 65535, got '0'"),
            ("redis://h:70000", "got '70000'"),
            ("redis://h:x", "got 'x'"),
            ("redis://h:", "got ''"),
            ("redis://h/db", "database must be a non-negative number, got 'db'"),
            ("redis://h/-1", "got '-1'"),
            ("redis://h?timeout=1", "query parameters"),
            ("redis://secret@h", "credentials need a colon"),
            ("redis://alice:@h", "a user needs a password"),
            ("redis://::1", "IPv6 address needs brackets"),
            ("redis://[::1", "unterminated IPv6"),
            ("redis://:%zz@h", "bad percent-encoding in the password"),
        ]
    )
    func invalid(text: String, reason: String) {
        do {
            let url = try RedisURL(text)
            Issue.record("\(text) parsed as \(url)")
        } catch {
            #expect(error.description.hasPrefix("redis: invalid redis URL: "))
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }

    @Test("the description masks the password")
    func description() throws {
        #expect(try RedisURL("redis://alice:secret@h:7000/3").description == "redis://alice:***@h:7000/3")
        #expect(try RedisURL("redis://:secret@h").description == "redis://:***@h:6379")
        #expect(RedisURL(host: "::1").address == "[::1]:6379")
    }

    @Test("errors read as one line naming the server")
    func errorDescriptions() {
        #expect(
            RedisError.connectFailed("connection refused").at("127.0.0.1:6390").description
                == "redis at 127.0.0.1:6390: connection refused"
        )
        #expect(RedisError.notConnected.description == "redis: not connected (reconnecting)")
        #expect(RedisError.timeout.at("h:1") == .timeout)
        #expect(RedisError.server("ERR x") != .server("ERR y"))
        #expect(RedisError.server("NOSCRIPT No matching script").isNoScript)
        #expect(RedisError.server("ERR x").serverMessage == "ERR x")
        #expect(RedisError.timeout.serverMessage == nil)
    }

    @Test("a script's digest is the SHA-1 Redis uses")
    func scriptDigest() {
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(RedisScript("").sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    @Test("reconnect delays grow exponentially with jitter, up to the maximum, and reset")
    func backoff() {
        var generator = SplitMix(seed: 7)
        var backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .seconds(2))
        var bases: [Int64] = [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000]
        bases += Array(repeating: 2000, count: 60)
        for base in bases {
            let delay = backoff.next(using: &generator).nanoseconds
            #expect(delay >= base * 1_000_000 / 2 && delay <= base * 1_000_000, "base \(base) ms: \(delay)")
        }
        backoff.reset()
        let first = backoff.next(using: &generator).nanoseconds
        #expect(first >= 25_000_000 && first <= 50_000_000)
    }
}
