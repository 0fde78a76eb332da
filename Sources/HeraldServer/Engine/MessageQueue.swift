import HeraldCore

/// A channel's stored messages, oldest first: appends at the tail, trims at the head,
/// both amortised O(1) so a long backlog does not make every publish slower.
struct MessageQueue: Sendable {
    private var storage: [Message] = []
    private var head = 0
    /// Time and tag of the message right before the first stored one: the last one dropped, or the
    /// channel's last message when the queue was empty at an append.
    private(set) var previous: (time: Int64, tag: Int64) = (0, 0)

    var count: Int { storage.count - head }
    var isEmpty: Bool { count == 0 }
    var first: Message? { head < storage.count ? storage[head] : nil }
    var messages: [Message] { Array(storage[head...]) }

    /// Appends `message`; `previous` is the time and tag of the channel's message before it.
    mutating func append(_ message: Message, previous: (time: Int64, tag: Int64)) {
        if isEmpty { self.previous = previous }
        storage.append(message)
    }

    mutating func removeFirst(_ n: Int) {
        let n = min(n, count)
        guard n > 0 else { return }
        let dropped = storage[head + n - 1]
        previous = (dropped.time, dropped.tag)
        head += n
        // Compact once the dead prefix dominates, so memory stays proportional to what is stored.
        if head > 32 && head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    /// Keeps at most `limit` messages, dropping the oldest.
    mutating func trim(to limit: Int) {
        if count > limit { removeFirst(count - limit) }
    }

    /// Drops messages published at or before `cutoff` (Unix seconds).
    mutating func expire(publishedAtOrBefore cutoff: Int64) {
        var n = 0
        while head + n < storage.count && storage[head + n].time <= cutoff { n += 1 }
        removeFirst(n)
    }
}
