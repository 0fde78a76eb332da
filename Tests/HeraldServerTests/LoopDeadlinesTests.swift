import NIOCore
import NIOEmbedded
import Testing

@testable import HeraldServer

@Suite struct LoopDeadlinesTests {
    /// Notes when it was woken; may ask for another wake-up from there.
    final class Sleeper: DeadlineTarget {
        let name: String
        let loop: EmbeddedEventLoop
        let log: Log
        var again: (deadlines: LoopDeadlines, after: TimeAmount)?

        init(_ name: String, loop: EmbeddedEventLoop, log: Log) {
            self.name = name
            self.loop = loop
            self.log = log
        }

        func deadlineCame() {
            log.woken.append("\(name)@\(loop.now.uptimeNanoseconds / 1_000_000)")
            if let again {
                self.again = nil
                _ = again.deadlines.schedule(at: loop.now + again.after, self)
            }
        }
    }

    final class Log { var woken: [String] = [] }

    /// A time on the embedded loop's clock, which starts at zero.
    private func at(_ milliseconds: Int64, _ loop: EmbeddedEventLoop) -> NIODeadline {
        .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000)
    }

    @Test func eachIsWokenOnceWhenItsTimeComesInTimeOrder() {
        let loop = EmbeddedEventLoop()
        let deadlines = LoopDeadlines(loop: loop)
        let log = Log()
        let a = Sleeper("a", loop: loop, log: log)
        let b = Sleeper("b", loop: loop, log: log)
        let c = Sleeper("c", loop: loop, log: log)
        _ = deadlines.schedule(at: at(300, loop), b)
        _ = deadlines.schedule(at: at(100, loop), a)  // earlier than the timer set for b
        _ = deadlines.schedule(at: at(300, loop), c)
        loop.advanceTime(to: at(99, loop))
        #expect(log.woken.isEmpty)
        loop.advanceTime(to: at(100, loop))
        #expect(log.woken == ["a@100"])
        loop.advanceTime(to: at(1_000, loop))
        #expect(log.woken == ["a@100", "b@300", "c@300"])
        #expect(deadlines.count == 0)
    }

    @Test func aCancelledOneIsNeverWokenAndTheOthersStillAre() {
        let loop = EmbeddedEventLoop()
        let deadlines = LoopDeadlines(loop: loop)
        let log = Log()
        let first = deadlines.schedule(at: at(100, loop), Sleeper("a", loop: loop, log: log))
        _ = deadlines.schedule(at: at(200, loop), Sleeper("b", loop: loop, log: log))
        let third = deadlines.schedule(at: at(300, loop), Sleeper("c", loop: loop, log: log))
        deadlines.cancel(first)
        deadlines.cancel(third)
        #expect(deadlines.count == 1)
        loop.advanceTime(to: at(1_000, loop))
        #expect(log.woken == ["b@200"])
        // Cancelling one already woken changes nothing.
        deadlines.cancel(first)
        #expect(deadlines.count == 0)
    }

    @Test func aTargetMayAskAgainWhenWokenAndAllCancelledWakesNobody() {
        let loop = EmbeddedEventLoop()
        let deadlines = LoopDeadlines(loop: loop)
        let log = Log()
        let a = Sleeper("a", loop: loop, log: log)
        a.again = (deadlines, .milliseconds(50))
        _ = deadlines.schedule(at: at(100, loop), a)
        loop.advanceTime(to: at(1_000, loop))
        #expect(log.woken == ["a@100", "a@150"])
        let late = deadlines.schedule(at: at(2_000, loop), Sleeper("late", loop: loop, log: log))
        deadlines.cancel(late)
        loop.advanceTime(to: at(5_000, loop))
        #expect(log.woken == ["a@100", "a@150"])
        #expect(deadlines.armedAt == nil)
        // Scheduling after everything was cancelled sets the timer again.
        _ = deadlines.schedule(at: at(6_000, loop), Sleeper("b", loop: loop, log: log))
        loop.advanceTime(to: at(6_000, loop))
        #expect(log.woken == ["a@100", "a@150", "b@6000"])
    }

    @Test func manyCancelledAheadOfALiveOneCostOneWakeUp() {
        let loop = EmbeddedEventLoop()
        let deadlines = LoopDeadlines(loop: loop)
        let log = Log()
        let cancelled = (1...1_000).map {
            deadlines.schedule(at: at(Int64($0), loop), Sleeper("x", loop: loop, log: log))
        }
        _ = deadlines.schedule(at: at(5_000, loop), Sleeper("live", loop: loop, log: log))
        for id in cancelled { deadlines.cancel(id) }
        loop.advanceTime(to: at(1, loop))
        // The timer set for the first cancelled entry dropped all of them and waits for the live one.
        #expect(log.woken.isEmpty)
        #expect(deadlines.count == 1)
        #expect(deadlines.armedAt == at(5_000, loop))
        loop.advanceTime(to: at(5_000, loop))
        #expect(log.woken == ["live@5000"])
    }

    @Test func connectionsThatComeAndGoLeaveABoundedHeap() {
        let loop = EmbeddedEventLoop()
        let deadlines = LoopDeadlines(loop: loop)
        let log = Log()
        let live = (0..<100).map {
            deadlines.schedule(at: at(30_000, loop), Sleeper("live\($0)", loop: loop, log: log))
        }
        for n in 0..<20_000 {
            let id = deadlines.schedule(at: at(30_000 + Int64(n), loop), Sleeper("gone", loop: loop, log: log))
            deadlines.cancel(id)
        }
        #expect(deadlines.count == 100)
        #expect(deadlines.entries <= 1_024 + 3 * 100 + 1)
        deadlines.cancel(live[0])
        loop.advanceTime(to: at(60_000, loop))
        #expect(log.woken.count == 99)
        #expect(!log.woken.contains("live0@30000"))
    }
}
