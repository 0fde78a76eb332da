import HeraldCore
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import HeraldServer

/// The memory engine's limits and bookkeeping: how many channels it holds, how it forgets them a
/// batch at a time, and counters that always agree with a walk over every channel.
struct MemoryEngineLimitsTests {
    /// A clock a test moves by hand.
    final class TestClock: Sendable {
        private let seconds = NIOLockedValueBox<Int64>(1_700_000_000)
        var now: Int64 { seconds.withLockedValue { $0 } }
        func advance(_ by: Int64) { seconds.withLockedValue { $0 += by } }
    }

    static func engine(_ settings: NodeSettings, clock: TestClock) -> MemoryEngine {
        MemoryEngine(configuration: .init(settings), clock: { clock.now * 1_000_000 })
    }

    @Test func channelsAreLimitedByDefault() {
        #expect(NodeSettings().maxNumberOfChannels == 100_000)
    }

    @Test func subscribersAndPublishesCannotCreateChannelsPastTheLimit() throws {
        var settings = NodeSettings()
        settings.maxNumberOfChannels = 3
        let loop = EmbeddedEventLoop()
        let engine = Self.engine(settings, clock: TestClock())
        try engine.create(["a", "b"], on: loop).wait()
        _ = try engine.publish(PublishRequest(channels: ["c"], text: Array("x".utf8), store: true), on: loop).wait()
        #expect(throws: ProtocolError.channelsLimitExceeded) { try engine.create(["d"], on: loop).wait() }
        #expect(throws: ProtocolError.channelsLimitExceeded) {
            try engine.publish(PublishRequest(channels: ["e"], text: Array("x".utf8), store: true), on: loop).wait()
        }
        // Existing channels stay usable; a deleted one makes room.
        try engine.create(["a"], on: loop).wait()
        _ = try engine.delete(["b"], notice: [], on: loop).wait()
        try engine.create(["d"], on: loop).wait()
    }

    @Test func theSweepForgetsABoundedBatchPerStep() throws {
        var settings = NodeSettings()
        settings.maxNumberOfChannels = nil
        settings.channelInactivityTime = .seconds(30)
        let loop = EmbeddedEventLoop()
        let clock = TestClock()
        let engine = Self.engine(settings, clock: clock)
        let count = 10_000
        try engine.create((0..<count).map { "idle\($0)" }, on: loop).wait()
        _ = try engine.publish(PublishRequest(channels: ["kept"], text: Array("x".utf8), store: true), on: loop).wait()
        clock.advance(31)

        var remaining = try engine.totals(on: loop).wait().channels
        #expect(remaining == count + 1)
        var steps = 0
        var done = false
        while !done {
            done = engine.sweepStep(budget: 1_000)
            let now = try engine.totals(on: loop).wait().channels
            #expect(remaining - now <= 1_000, "one step forgot \(remaining - now) channels")
            remaining = now
            steps += 1
        }
        #expect(steps == 11)  // 10,001 channels, 1,000 a step
        #expect(remaining == 1)
        #expect(try engine.records(["kept", "idle0"], on: loop).wait().map { $0?.channel } == ["kept", nil])
        // The next round waits for its time.
        #expect(engine.sweepStep(budget: 1_000))
    }

    @Test func channelsCreatedDuringARoundAndDeletedDuringItAreHandled() throws {
        var settings = NodeSettings()
        settings.channelInactivityTime = .seconds(30)
        let loop = EmbeddedEventLoop()
        let clock = TestClock()
        let engine = Self.engine(settings, clock: clock)
        try engine.create((0..<100).map { "old\($0)" }, on: loop).wait()
        clock.advance(31)
        #expect(!engine.sweepStep(budget: 10))
        // Deleting some the sweep has not reached yet and some it has, and creating new ones.
        _ = try engine.delete((0..<100).filter { $0.isMultiple(of: 7) }.map { "old\($0)" }, notice: [], on: loop).wait()
        try engine.create((0..<20).map { "new\($0)" }, on: loop).wait()
        while !engine.sweepStep(budget: 10) {}
        let totals = try engine.totals(on: loop).wait()
        #expect(totals.channels == 20, "only the new channels are left")
        let left = try engine.records(prefix: "", on: loop).wait().map(\.channel)
        #expect(Set(left) == Set((0..<20).map { "new\($0)" }))
    }

    @Test func totalsAreCountersThatAgreeWithTheChannels() throws {
        var settings = NodeSettings()
        settings.maxMessagesStoredPerChannel = 3
        settings.messageTTL = .seconds(60)
        settings.wildcardChannelPrefix = "bd_"
        let loop = EmbeddedEventLoop()
        let clock = TestClock()
        let engine = Self.engine(settings, clock: clock)
        func publish(_ channels: [String], store: Bool = true) throws {
            _ = try engine.publish(PublishRequest(channels: channels, text: Array("m".utf8), store: store), on: loop)
                .wait()
        }
        func walked() throws -> Int64 {
            try engine.records(prefix: "", on: loop).wait().reduce(0) { $0 + Int64($1.storedMessages) }
        }
        for _ in 0..<5 { try publish(["a", "b", "bd_x"]) }  // trimmed to 3 each
        try publish(["c"], store: false)
        var totals = try engine.totals(on: loop).wait()
        #expect(totals.storedMessages == 9)
        #expect(try totals.storedMessages == walked())
        #expect(totals.channels == 3 && totals.wildcardChannels == 1)
        #expect(totals.publishedMessages == 16)

        _ = try engine.delete(["a"], notice: [], on: loop).wait()
        #expect(try engine.totals(on: loop).wait().storedMessages == 6)
        clock.advance(30)
        try publish(["b"])  // b: 3 old, one new, trimmed to 3
        clock.advance(31)  // the old ones expire
        _ = try engine.backlog("b", on: loop).wait()  // a read expires them too
        engine.sweep()
        totals = try engine.totals(on: loop).wait()
        #expect(totals.storedMessages == 1)
        #expect(try totals.storedMessages == walked())
    }
}
