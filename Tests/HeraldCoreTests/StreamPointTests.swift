import HeraldCore
import Testing

/// How messages are stamped with push-stream's time and tag, so that `(time, tag)` tells the
/// generations of one channel apart.
@Suite struct StreamPointTests {
    /// Began at 1,700,000,000.250000.
    static let generation: Int64 = 1_700_000_000_250_000

    @Test func aGenerationBeginsAtItsSecondAndMicrosecond() {
        #expect(StreamPoint.beginning(of: Self.generation) == (1_700_000_000, 250_000))
        #expect(StreamPoint.beginning(of: 1_700_000_000_000_000) == (1_700_000_000, 0))
        #expect(StreamPoint.beginning(of: 0) == (0, 0))
        // Before any message: push-stream's tag 0, which names no message.
        let start = StreamPoint.start(of: Self.generation)
        #expect(start == StreamPoint(id: 0, generation: Self.generation, time: 1_700_000_000, tag: 0))
        #expect(StreamPoint.start(of: 0) == StreamPoint(id: 0, generation: 0, time: 0, tag: 0))
    }

    @Test func tagsInTheFirstSecondContinueFromTheMicrosecond() {
        let first = StreamPoint.next(after: nil, now: 1_700_000_000, generation: Self.generation)
        #expect(first == (1_700_000_000, 250_001))
        let second = StreamPoint.next(after: first, now: 1_700_000_000, generation: Self.generation)
        #expect(second == (1_700_000_000, 250_002))
    }

    @Test func laterSecondsCountFromOne() {
        let first = StreamPoint.next(after: nil, now: 1_700_000_003, generation: Self.generation)
        #expect(first == (1_700_000_003, 1))
        #expect(StreamPoint.next(after: first, now: 1_700_000_003, generation: Self.generation) == (1_700_000_003, 2))
        #expect(StreamPoint.next(after: first, now: 1_700_000_004, generation: Self.generation) == (1_700_000_004, 1))
        let whole: Int64 = 1_700_000_000_000_000
        #expect(StreamPoint.next(after: nil, now: 1_700_000_000, generation: whole) == (1_700_000_000, 1))
    }

    @Test func aClockThatStepsBackNeverStampsBeforeTheGeneration() {
        let stamp = StreamPoint.next(after: nil, now: 1_699_999_990, generation: Self.generation)
        #expect(stamp == (1_700_000_000, 250_001))
        let later = StreamPoint.next(after: (1_700_000_005, 3), now: 1_700_000_001, generation: Self.generation)
        #expect(later == (1_700_000_001, 1))
    }

    @Test func everyStampOfAGenerationComesAfterEveryOneBeforeIt() throws {
        // The earlier generation, begun in the same second, got a message every microsecond up to
        // the one before the new generation began: the last is still before the new start.
        let earlier: Int64 = 1_700_000_000_100_000
        var last: (time: Int64, tag: Int64)?
        for _ in 0..<(250_000 - 100_000) {
            last = StreamPoint.next(after: last, now: 1_700_000_000, generation: earlier)
        }
        let began = StreamPoint.beginning(of: Self.generation)
        let old = try #require(last)
        #expect(old == (1_700_000_000, 250_000))
        #expect(!(began.time == old.time && began.tag < old.tag))
        let first = StreamPoint.next(after: nil, now: 1_700_000_000, generation: Self.generation)
        #expect(first.time == began.time && first.tag > began.tag)
    }
}
