import HeraldCore
import Testing

/// Redis lost messages 4 and 5 after a node delivered them (a failover before replication): the
/// node fences the channel, and every resume path reports the loss to whoever had not reached 5.
@Suite struct LossFenceTests {
    static let generation: Int64 = 100_000_000

    static func message(_ id: Int64, time: Int64, eventID: String? = nil) -> Message {
        Message(
            channel: "ch", id: id, time: time, tag: 1, eventID: eventID ?? "e\(id)", text: Array("m\(id)".utf8),
            generation: generation)
    }

    static func point(_ id: Int64, time: Int64) -> StreamPoint {
        StreamPoint(id: id, generation: generation, time: time, tag: 1)
    }

    /// Messages 1…5 were published one a second from 101; the node delivered all of them.
    static let delivered = point(5, time: 105)
    static let original = (1...5).map { message(Int64($0), time: 100 + Int64($0)) }

    static func backlog(_ stored: [Message], last: StreamPoint, fence: StreamPoint? = nil) -> ChannelBacklog {
        var backlog = ChannelBacklog(messages: stored, last: last, exists: true)
        backlog.fence = fence
        return backlog
    }

    /// What the new master holds: messages 1…3.
    static let lost = backlog(Array(original.prefix(3)), last: point(3, time: 103))
    /// Fenced at 5, then message 6 published.
    static let fenced = backlog(
        Array(original.prefix(3)) + [message(6, time: 107)], last: point(6, time: 107), fence: delivered)
    /// Before any node noticed, publishes took ids 4 and 5 again (at 110 and 111); then fenced past them.
    static let reused = backlog(
        Array(original.prefix(3)) + [
            message(4, time: 110, eventID: "again4"), message(5, time: 111, eventID: "again5"),
        ],
        last: point(5, time: 111), fence: StreamPoint(id: 6, generation: generation, time: 105, tag: 1))

    @Test func aBacklogShortOfWhatWasDeliveredNeedsAFence() {
        #expect(Self.lost.needsFence(after: Self.delivered))
        #expect(!Self.lost.needsFence(after: Self.point(3, time: 103)), "a node that saw no lost message")
        #expect(!Self.lost.reusesIDs(upTo: Self.delivered))
        let complete = Self.backlog(Self.original, last: Self.delivered)
        #expect(!complete.needsFence(after: Self.delivered))
        #expect(!complete.needsFence(after: Self.point(2, time: 102)), "a node behind is no loss")
        #expect(!Self.fenced.needsFence(after: Self.delivered), "fenced already")
        #expect(!Self.reused.needsFence(after: Self.delivered), "fenced already")
    }

    @Test func anotherGenerationOrAGoneChannelIsNotFenced() {
        var other = Self.lost
        other.last.generation = Self.generation + 1
        #expect(!other.needsFence(after: Self.delivered))
        #expect(!ChannelBacklog.missing.needsFence(after: Self.delivered))
    }

    @Test func idsHandedOutAgainAreToldFromRepeats() {
        let unfenced = Self.backlog(Self.reused.messages, last: Self.reused.last)
        #expect(unfenced.reusesIDs(upTo: Self.delivered))
        #expect(unfenced.needsFence(after: Self.delivered))
        // The new 4 alone, not stored: the last message tells.
        let unstored = Self.backlog(Array(Self.original.prefix(3)), last: Self.point(4, time: 110))
        #expect(unstored.reusesIDs(upTo: Self.delivered))
        // A node that delivered only up to 3 sees nothing reused.
        #expect(!unfenced.reusesIDs(upTo: Self.point(3, time: 103)))
        // The same messages again are repeats.
        #expect(!Self.backlog(Self.original, last: Self.delivered).reusesIDs(upTo: Self.delivered))
    }

    static func select(_ backlog: ChannelBacklog, _ point: ResumePoint) -> (ids: [Int64], missed: Bool) {
        let selection = Resume.select(backlog, after: point)
        return (selection.messages.map(\.id), selection.missed)
    }

    @Test(arguments: [
        (ResumePoint.afterID(2, generation: generation), [3, 6] as [Int64], true),
        (.afterID(3, generation: generation), [6], true),
        (.afterID(4, generation: generation), [6], true),
        (.afterID(5, generation: generation), [6], false),
        (.afterID(6, generation: generation), [], false),
        (.since(time: 103, tag: 1), [6], true),
        (.since(time: 104, tag: 1), [6], true),
        (.since(time: 105, tag: 1), [6], false),
        (.since(time: 105, tag: nil), [6], false),
        (.backtrack(2), [3, 6], true),
        (.backtrack(1), [6], false),
        (.afterEventID("e3"), [6], true),
        (.afterEventID("e6"), [], false),
        (.none, [], false),
    ])
    func everyPathFromBeforeTheFenceIsReported(point: ResumePoint, ids: [Int64], missed: Bool) {
        let selection = Self.select(Self.fenced, point)
        #expect(selection.ids == ids)
        #expect(selection.missed == missed)
    }

    @Test(arguments: [
        (ResumePoint.afterID(3, generation: generation), [4, 5] as [Int64], true),
        // 5 names the lost message and the new one: it cannot be placed.
        (.afterID(5, generation: generation), [], true),
        (.since(time: 103, tag: 1), [4, 5], true),
        // Times and tags are not reused: the lost 5's leads to the new messages, nothing missed.
        (.since(time: 105, tag: 1), [4, 5], false),
        (.since(time: 110, tag: 1), [5], false),
    ])
    func reusedIDsAreReportedWhileTimesStillPlace(point: ResumePoint, ids: [Int64], missed: Bool) {
        let selection = Self.select(Self.reused, point)
        #expect(selection.ids == ids)
        #expect(selection.missed == missed)
    }

    @Test func theFenceAsRedisKeepsItIsParsed() {
        #expect(StreamPoint(fence: "6 105 2", generation: 7) == StreamPoint(id: 6, generation: 7, time: 105, tag: 2))
        for bad in ["", "6 105", "6 105 2 1", "a 1 2", "-1 1 2", "6  105 2", "6 105 2\n"] {
            #expect(StreamPoint(fence: bad, generation: 7) == nil, "\(bad.debugDescription)")
        }
    }
}
