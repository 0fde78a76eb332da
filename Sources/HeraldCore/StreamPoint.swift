/// A point in one channel's stream of messages: right after message `id` of one generation.
///
/// A channel's **generation** names one incarnation of it: ids start again at 1 when a channel is
/// created anew (deleted and published to again, or lost by a Redis that restarted without its
/// data), and an id only means something together with its generation. Generations are the
/// microsecond time the incarnation was created, so a later one is always greater; 0 means not
/// known (a channel that does not exist, or a resume point from a client that does not send one).
///
/// `time` and `tag` are the publish second and per-second tag of message `id`: push-stream's form
/// of the same point. A point before any message (`id` 0) has tag 0 and, when its generation is
/// known, the generation's first second as its time, so `(time, tag)` still orders it before
/// every message of its generation and after every message of the ones before.
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

    /// The point before the first message of `generation`.
    public static func start(of generation: Int64) -> StreamPoint {
        StreamPoint(id: 0, generation: generation, time: firstSecond(of: generation), tag: 0)
    }

    /// The Unix second in which `generation` began (0 when unknown).
    public static func firstSecond(of generation: Int64) -> Int64 {
        generation > 0 ? generation / 1_000_000 : 0
    }

    /// Whether `(time, tag)` comes before the other point's, push-stream's order of messages.
    public func precedes(time otherTime: Int64, tag otherTag: Int64) -> Bool {
        time < otherTime || (time == otherTime && tag < otherTag)
    }

    public var description: String { "#\(id)@\(generation) (\(time), \(tag))" }
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
