/// A point in one channel's stream of messages: right after message `id` of one generation.
///
/// A channel's **generation** names one incarnation of it: ids start again at 1 when a channel is
/// created anew (deleted and published to again, or lost by a Redis that restarted without its
/// data), and an id only means something together with its generation. Generations are the
/// microsecond time the incarnation was created, so a later one is always greater; 0 means not
/// known (a channel that does not exist, or a resume point from a client that does not send one).
///
/// `time` and `tag` are the publish second and per-second tag of message `id`: push-stream's form
/// of the same point. In the second a generation began, its tags continue from the microsecond it
/// began at (``beginning(of:)``, ``next(after:now:generation:)``), so `(time, tag)` orders every
/// message of a generation after every message of the ones before, even one created again within
/// the same second (a Redis restart or a delete): the earlier generation's messages of that
/// second were published at earlier microseconds, and a channel gets at most one message a
/// microsecond. A point before any message (`id` 0) has the generation's first second and tag 0,
/// push-stream's `W/0`: a tag of 0 names no message, so it is never taken for an earlier one.
public struct StreamPoint: Hashable, Sendable, CustomStringConvertible {
    /// The last message id at this point (0: none yet).
    public var id: Int64
    /// The channel's generation the id belongs to (0: unknown).
    public var generation: Int64
    /// Publish second of message `id`.
    public var time: Int64
    /// Tag of message `id` (0 before any message).
    public var tag: Int64

    public init(id: Int64, generation: Int64, time: Int64, tag: Int64) {
        self.id = id
        self.generation = generation
        self.time = time
        self.tag = tag
    }

    /// push-stream's name for a message: its publish second and its tag within that second.
    public typealias Stamp = (time: Int64, tag: Int64)

    /// The point before the first message of `generation`.
    public static func start(of generation: Int64) -> StreamPoint {
        StreamPoint(id: 0, generation: generation, time: beginning(of: generation).time, tag: 0)
    }

    /// Where `generation` began as a time and tag: its second, and the microsecond within it.
    /// Every message of an earlier generation comes before it, every message of this one after
    /// (zero when the generation is not known).
    public static func beginning(of generation: Int64) -> Stamp {
        let began = max(generation, 0)
        return (began / 1_000_000, began % 1_000_000)
    }

    /// The time and tag of the message published at `now` (Unix seconds) after `last`, the time
    /// and tag of the generation's last message (nil before its first). Never earlier than where
    /// the generation began, even when the clock steps back. Redis's publish script computes the
    /// same (`RedisScripts.assignID`).
    public static func next(after last: Stamp?, now: Int64, generation: Int64) -> Stamp {
        let began = beginning(of: generation)
        let time = max(now, began.time)
        if let last, last.time == time { return (time, last.tag + 1) }
        return (time, time == began.time ? began.tag + 1 : 1)
    }

    /// Whether `(time, tag)` comes before the other point's, push-stream's order of messages.
    public func precedes(time otherTime: Int64, tag otherTag: Int64) -> Bool {
        time < otherTime || (time == otherTime && tag < otherTag)
    }

    public var description: String { "#\(id)@\(generation) (\(time), \(tag))" }

    /// A loss fence as Redis keeps it in a channel's `meta` (`<id> <time> <tag>`, written by the
    /// fence script); nil for anything else.
    public init?(fence: String, generation: Int64) {
        // Most channels have no fence: every backlog read asks, and splitting "" makes an array.
        guard !fence.isEmpty else { return nil }
        let fields = fence.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 3, let id = Int64(fields[0]), let time = Int64(fields[1]),
            let tag = Int64(fields[2]), id >= 0, time >= 0, tag >= 0
        else { return nil }
        self.init(id: id, generation: generation, time: time, tag: tag)
    }
}

/// Hands out generations for channels created in this process: microsecond wall-clock times,
/// strictly increasing even when the clock stands still or steps back.
public struct GenerationClock: Sendable {
    private var last: Int64 = 0

    public init() {}

    /// A generation greater than every one this clock gave before, near `nowMicroseconds`.
    public mutating func next(nowMicroseconds: Int64) -> Int64 {
        last = max(last + 1, nowMicroseconds)
        return last
    }
}
