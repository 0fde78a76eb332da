import HeapModule
import NIOCore

/// Something woken at a time it asked a ``LoopDeadlines`` for.
protocol DeadlineTarget: AnyObject {
    func deadlineCame()
}

/// The wake-ups of one event loop's HTTP connections (their request deadlines): one heap of
/// times under one NIO timer, touched only on that loop.
///
/// Why not a `scheduleTask` per connection: cancelling one makes NIO search the loop's whole list
/// of scheduled tasks, and every connection a subscriber takes over cancels its deadline. In a
/// burst of 8,000 connects that search was 2.5% of the node's CPU, and each task cost a closure,
/// a promise and an entry copied (retained) at every move in NIO's heap (`perf record`). Here a
/// cancel only forgets the target; its entry, two integers, is dropped when its time comes, or
/// when cancelled entries outnumber live ones three to one (connections that come and go quickly
/// would otherwise leave a request timeout's worth of them).
final class LoopDeadlines {
    private struct Entry: Comparable {
        var time: NIODeadline
        var id: UInt64
        static func < (a: Entry, b: Entry) -> Bool { (a.time, a.id) < (b.time, b.id) }
    }

    private let loop: any EventLoop
    private var times = Heap<Entry>()
    private var targets: [UInt64: (time: NIODeadline, target: any DeadlineTarget)] = [:]
    private var nextID: UInt64 = 0
    /// The NIO timer: set for the earliest entry, or still for one since cancelled; nil when none.
    private var timer: (time: NIODeadline, task: Scheduled<Void>)?

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// Wake-ups waiting, cancelled ones left out.
    var count: Int { targets.count }

    /// When the NIO timer fires next; nil when none is set.
    var armedAt: NIODeadline? { timer?.time }

    /// Entries in the heap, cancelled ones included.
    var entries: Int { times.count }

    /// Wakes `target` once at `time` (or soon after), unless cancelled first.
    /// - Returns: what ``cancel(_:)`` takes.
    func schedule(at time: NIODeadline, _ target: any DeadlineTarget) -> UInt64 {
        nextID += 1
        times.insert(Entry(time: time, id: nextID))
        targets[nextID] = (time, target)
        if timer.map({ time < $0.time }) ?? true { arm(at: time) }
        return nextID
    }

    /// Forgets a wake-up not yet come; one already come or cancelled is no matter.
    func cancel(_ id: UInt64) {
        guard targets.removeValue(forKey: id) != nil else { return }
        // Nothing left to wake: the heap's entries are all cancelled ones, dropped at once. The
        // timer is left to fire for nothing: cancelling and setting it again for every connection
        // that comes alone would cost what one timer per connection cost.
        if targets.isEmpty {
            times = Heap()
        } else if times.count > 1_024 + 3 * targets.count {
            // Rebuilt from the live ones, in linear time: amortised over the cancels since.
            times = Heap(targets.map { Entry(time: $0.value.time, id: $0.key) })
        }
    }

    private func arm(at time: NIODeadline) {
        timer?.task.cancel()
        let task = loop.assumeIsolated().scheduleTask(deadline: time) { [self] in fire() }
        timer = (time, task)
    }

    private func fire() {
        timer = nil
        let now = loop.now
        var due: [any DeadlineTarget] = []
        while let first = times.min, first.time <= now {
            times.removeMin()
            if let entry = targets.removeValue(forKey: first.id) { due.append(entry.target) }
        }
        // Cancelled entries ahead of the next live one are dropped now, not each woken for.
        while let first = times.min, targets[first.id] == nil { times.removeMin() }
        if let next = times.min { arm(at: next.time) }
        // Woken after the heap is settled: a target may schedule its next wake-up from here.
        for target in due { target.deadlineCame() }
    }
}
