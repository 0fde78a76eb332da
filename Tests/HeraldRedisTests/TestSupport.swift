import HeraldRedis
import HeraldTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The event loop group of the tests.
let testGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

/// A logger that drops everything.
let quietLogger = Logger(label: "herald.redis.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Collects values from `@Sendable` callbacks, in arrival order.
final class Recorder<Value: Sendable>: Sendable {
    private let box = NIOLockedValueBox<[Value]>([])

    /// Appends a value.
    func record(_ value: Value) {
        self.box.withLockedValue { $0.append(value) }
    }

    /// Everything recorded so far.
    var values: [Value] {
        self.box.withLockedValue { $0 }
    }

    /// How many values were recorded.
    var count: Int {
        self.box.withLockedValue { $0.count }
    }
}

/// Waits until `condition` holds, checking every 10 ms; throws after `seconds`.
func eventually(
    _ what: String,
    seconds: Int = 10,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while true {
        if try await condition() {
            return
        }
        guard ContinuousClock.now < deadline else {
            throw HarnessError("timed out after \(seconds) s waiting for: \(what)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Connects a plain connection to `url` with test timeouts.
func connect(_ url: RedisURL, commandTimeout: TimeAmount = .seconds(10)) async throws -> RedisConnection {
    try await RedisConnection.connect(
        to: url,
        on: testGroup,
        connectTimeout: .seconds(10),
        commandTimeout: commandTimeout,
        logger: quietLogger
    ).get()
}

/// A log handler that keeps records in memory, to check what the library logs.
struct MemoryLogHandler: LogHandler {
    /// One log record.
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    let records: Recorder<Record>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        self.records.record(
            Record(
                level: event.level,
                message: event.message.description,
                metadata: self.metadata.merging(event.metadata ?? [:]) { $1 }
            )
        )
    }
}

extension RESPValue {
    /// A bulk string from text, for comparisons.
    static func bulk(_ text: String) -> RESPValue {
        .bulkString(Array(text.utf8))
    }
}

extension RedisServerProcess {
    /// A URL for this server, with a database and credentials as needed.
    func url(database: Int = 0, user: String? = nil, password: String? = nil) -> RedisURL {
        RedisURL(host: "127.0.0.1", port: Int(self.port), database: database, user: user, password: password)
    }
}
