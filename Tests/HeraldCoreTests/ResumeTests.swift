import HeraldCore
import HeraldTesting
import Testing

@Suite struct ResumeTests {
    /// The generation of the test channel: it began in second 100.
    static let generation: Int64 = 100_000_000
    /// An earlier generation, begun in second 50.
    static let earlier: Int64 = 50_000_000

    static func message(_ id: Int64, time: Int64 = 100, tag: Int64 = 1, eventID: String? = nil) -> Message {
        Message(
            channel: "ch", id: id, time: time, tag: tag, eventID: eventID, text: Array("m\(id)".utf8),
            generation: generation)
    }

    /// A backlog holding `stored` of a channel whose last message is `last` (id, time, tag).
    static func backlog(
        _ stored: [Message], last: (Int64, Int64, Int64), previous: (time: Int64, tag: Int64)? = nil
    ) -> ChannelBacklog {
        let point =
            last.0 > 0
            ? StreamPoint(id: last.0, generation: generation, time: last.1, tag: last.2) : .start(of: generation)
        return ChannelBacklog(messages: stored, last: point, exists: true, previous: previous)
    }

    /// Five messages, ids 1…5, one a second from 101.
    static let full = (1...5).map { message(Int64($0), time: 100 + Int64($0), eventID: "e\($0)") }
    static let fullBacklog = backlog(full, last: (5, 105, 1))
    /// The same channel after trimming: ids 4…5 of 5.
    static let trimmed = backlog(Array(full.suffix(2)), last: (5, 105, 1), previous: (103, 1))

    static func ids(_ backlog: ChannelBacklog, _ point: ResumePoint) -> [Int64] {
        Resume.select(backlog, after: point).messages.map(\.id)
    }

    static func missed(_ backlog: ChannelBacklog, _ point: ResumePoint) -> Bool {
        Resume.select(backlog, after: point).missed
    }

    static func cursor(_ id: Int64, _ generation: Int64 = generation) -> ResumePoint {
        .afterID(id, generation: generation)
    }

    @Test func noneSelectsNothingAndStandsAtTheLastMessage() {
        #expect(Self.ids(Self.fullBacklog, .none) == [])
        #expect(!Self.missed(Self.trimmed, .none))
        #expect(Resume.select(Self.trimmed, after: .none).end.id == 5)
    }

    @Test(
        arguments: [
            (0, []), (-3, []), (1, [5]), (2, [4, 5]), (5, [1, 2, 3, 4, 5]), (6, [1, 2, 3, 4, 5]),
            (Int.max, [1, 2, 3, 4, 5]),
        ] as [(Int, [Int64])])
    func backtrackTakesTheLastN(count: Int, expected: [Int64]) {
        #expect(Self.ids(Self.fullBacklog, .backtrack(count)) == expected)
        #expect(!Self.missed(Self.fullBacklog, .backtrack(count)))
    }

    @Test func backtrackPastATrimmedBacklogGivesWhatIsLeftAndReportsTheRest() {
        #expect(Self.ids(Self.trimmed, .backtrack(4)) == [4, 5])
        #expect(Self.missed(Self.trimmed, .backtrack(4)))
        #expect(!Self.missed(Self.trimmed, .backtrack(2)))
        #expect(!Self.missed(Self.trimmed, .backtrack(1)))
    }

    @Test(
        arguments: [
            ("e1", [2, 3, 4, 5], false), ("e3", [4, 5], false), ("e5", [], false),
            ("nope", [1, 2, 3, 4, 5], true), ("E1", [1, 2, 3, 4, 5], true), ("", [1, 2, 3, 4, 5], true),
        ] as [(String, [Int64], Bool)])
    func afterEventID(eventID: String, expected: [Int64], missed: Bool) {
        // An event id the backlog does not hold cannot be placed: everything, after the notice.
        #expect(Self.ids(Self.fullBacklog, .afterEventID(eventID)) == expected)
        #expect(Self.missed(Self.fullBacklog, .afterEventID(eventID)) == missed)
    }

    @Test func anUnknownEventIDOnAChannelWithoutMessagesIsNotAGap() {
        let empty = Self.backlog([], last: (0, 0, 0))
        #expect(!Self.missed(empty, .afterEventID("x")))
    }

    @Test func afterEventIDUsesTheFirstMatch() {
        let stored = [Self.message(1, eventID: "x"), Self.message(2, eventID: "x"), Self.message(3)]
        #expect(Self.ids(Self.backlog(stored, last: (3, 100, 1)), .afterEventID("x")) == [2, 3])
    }

    /// Messages: (1: t=110 tag=1), (2: t=110 tag=2), (3: t=111 tag=1), (4: t=112 tag=5).
    static let timed = backlog(
        [
            message(1, time: 110, tag: 1), message(2, time: 110, tag: 2), message(3, time: 111, tag: 1),
            message(4, time: 112, tag: 5),
        ], last: (4, 112, 5))

    @Test(
        arguments: [
            (109, nil, [1, 2, 3, 4]),
            (110, nil, [3, 4]),
            (110, 1, [2, 3, 4]),
            (110, 2, [3, 4]),
            (110, 0, [1, 2, 3, 4]),
            (110, 3, [3, 4]),
            (111, nil, [4]),
            (111, 1, [4]),
            (111, 0, [3, 4]),
            (112, 5, []),
            (112, 4, [4]),
            (112, 9, []),
            (113, nil, []),
            (100, 0, [1, 2, 3, 4]),
            (109, 7, [1, 2, 3, 4]),
        ] as [(Int64, Int64?, [Int64])])
    func sinceTimeAndTag(time: Int64, tag: Int64?, expected: [Int64]) {
        #expect(Self.ids(Self.timed, .since(time: time, tag: tag)) == expected)
        #expect(!Self.missed(Self.timed, .since(time: time, tag: tag)))
    }

    @Test func sinceStartsAtTheFirstQualifyingMessageEvenIfLaterOnesAreOlder() {
        // A tag that does not increase within the second does not skip later messages.
        let stored = Self.backlog(
            [Self.message(1, time: 110, tag: 5), Self.message(2, time: 110, tag: 1)], last: (2, 110, 1))
        #expect(Self.ids(stored, .since(time: 110, tag: 5)) == [2])
        #expect(Self.ids(stored, .since(time: 110, tag: 4)) == [1, 2])
    }

    @Test func aTimeAndTagFromBeforeTheGenerationBeganIsReported() {
        // The client saw a message in second 60, of an incarnation that began in 50 and is gone.
        #expect(Self.missed(Self.timed, .since(time: 60, tag: 3)))
        #expect(Self.ids(Self.timed, .since(time: 60, tag: 3)) == [1, 2, 3, 4])
        // Without a tag it is push-stream's "published after": nothing was lost of this generation.
        #expect(!Self.missed(Self.timed, .since(time: 60, tag: nil)))
        #expect(!Self.missed(Self.timed, .since(time: 60, tag: 0)))
    }

    @Test func theNoticeOfAnotherGenerationStandsBeforeItsFirstMessage() {
        let selection = Resume.select(Self.timed, after: .since(time: 60, tag: 3))
        #expect(selection.start == .start(of: Self.generation))
        #expect(selection.start.time == 100 && selection.start.tag == 0)
        // Resuming from there gets the whole generation, without a second notice.
        let again = Resume.select(Self.timed, after: .since(time: selection.start.time, tag: selection.start.tag))
        #expect(!again.missed)
        #expect(again.messages.map(\.id) == [1, 2, 3, 4])
    }

    @Test(
        arguments: [
            (0, [1, 2, 3, 4, 5]), (1, [2, 3, 4, 5]), (4, [5]), (5, []),
        ] as [(Int64, [Int64])])
    func afterIDOnAFullBacklog(after: Int64, expected: [Int64]) {
        #expect(Self.ids(Self.fullBacklog, Self.cursor(after)) == expected)
        #expect(!Self.missed(Self.fullBacklog, Self.cursor(after)))
        #expect(Self.ids(Self.fullBacklog, Self.cursor(after, 0)) == expected)
    }

    @Test(
        arguments: [
            (0, [4, 5], true),
            (1, [4, 5], true),
            (2, [4, 5], true),
            (3, [4, 5], false),
            (4, [5], false),
            (5, [], false),
        ] as [(Int64, [Int64], Bool)])
    func afterIDOnATrimmedBacklogReportsMissed(after: Int64, expected: [Int64], missed: Bool) {
        #expect(Self.ids(Self.trimmed, Self.cursor(after)) == expected)
        #expect(Self.missed(Self.trimmed, Self.cursor(after)) == missed)
    }

    @Test(arguments: [(0, true), (3, true), (4, true), (5, false)] as [(Int64, Bool)])
    func afterIDWithAnEmptyBacklog(after: Int64, missed: Bool) {
        // Everything expired: the client is up to date only if it already had the last id.
        let expired = Self.backlog([], last: (5, 105, 1))
        #expect(Self.ids(expired, Self.cursor(after)) == [])
        #expect(Self.missed(expired, Self.cursor(after)) == missed)
    }

    @Test func afterIDOnABrandNewChannel() {
        let new = Self.backlog([], last: (0, 0, 0))
        #expect(Self.ids(new, Self.cursor(0)) == [])
        #expect(!Self.missed(new, Self.cursor(0)))
    }

    @Test func aCursorOfAnotherGenerationGetsTheNoticeAndEverything() {
        // Fewer new ids than the old cursor's, and more: neither may be read as this generation's.
        for old: Int64 in [2, 9] {
            #expect(Self.missed(Self.fullBacklog, Self.cursor(old, Self.earlier)))
            #expect(Self.ids(Self.fullBacklog, Self.cursor(old, Self.earlier)) == [1, 2, 3, 4, 5])
        }
        // Without a generation, an id beyond the last one still shows another incarnation.
        #expect(Self.missed(Self.fullBacklog, Self.cursor(9, 0)))
        #expect(Self.ids(Self.fullBacklog, Self.cursor(9, 0)) == [1, 2, 3, 4, 5])
    }

    @Test func aChannelThatIsGoneReportsAPointThatHadMessagesOnce() {
        let gone = ChannelBacklog.missing
        let selection = Resume.select(gone, after: Self.cursor(7))
        #expect(selection.missed)
        #expect(selection.start.id == 0 && selection.start.generation == 0)
        // From where the notice left it, nothing more is reported, now or once the channel is back.
        #expect(!Self.missed(gone, .afterID(selection.start.id, generation: selection.start.generation)))
        #expect(!Self.missed(Self.fullBacklog, .afterID(selection.start.id, generation: selection.start.generation)))
        #expect(Self.missed(gone, .since(time: 104, tag: 1)))
        #expect(!Self.missed(gone, .since(time: 0, tag: 0)))
        #expect(!Self.missed(gone, Self.cursor(0)))
    }

    @Test func afterIDHandlesLargeBacklogs() {
        let stored = (1...10_000).map { Self.message(Int64($0) + 500, time: 100 + Int64($0) / 10, tag: 1) }
        let backlog = Self.backlog(stored, last: (10_500, 1_100, 1), previous: (100, 1))
        let selection = Resume.select(backlog, after: Self.cursor(9_000))
        #expect(selection.messages.first?.id == 9_001)
        #expect(selection.messages.count == 1_500)
        #expect(!selection.missed)
        #expect(Resume.select(backlog, after: Self.cursor(499)).missed)
        #expect(!Resume.select(backlog, after: Self.cursor(500)).missed)
    }

    @Test func selectionIsASliceOfTheBacklog() {
        let selection = Resume.select(Self.fullBacklog, after: Self.cursor(3))
        #expect(Array(selection.messages) == Array(Self.full[3...]))
    }
}

/// Every small channel history, every point a client can have reached in it, every way of naming
/// that point: the client gets exactly what it lacks, or the notice when some of it is gone, and
/// the notice only then.
@Suite struct ResumeInvariantTests {
    struct History {
        /// Every message published, ids 1…n, with its second and whether it was stored.
        var messages: [(message: Message, stored: Bool)]
        /// How many of the stored ones were trimmed (oldest first).
        var trimmed: Int
        /// The generation the messages belong to.
        var generation: Int64
    }

    static let generation: Int64 = 10_000_000

    /// Histories of up to `count` messages in seconds 10…12 of `generation` (which began in second
    /// 10), every store/skip choice, every trim; times and tags assigned as the engines do.
    static func histories(upTo count: Int, generation: Int64 = generation) -> [History] {
        var result: [History] = []
        func times(_ n: Int) -> [[Int64]] {
            guard n > 0 else { return [[]] }
            return times(n - 1).flatMap { prefix in ((prefix.last ?? 10)...12).map { prefix + [$0] } }
        }
        for n in 0...count {
            for seconds in times(n) {
                for storeMask in 0..<(1 << n) {
                    var messages: [(Message, Bool)] = []
                    var last: (time: Int64, tag: Int64)?
                    for (index, now) in seconds.enumerated() {
                        let stamp = StreamPoint.next(after: last, now: now, generation: generation)
                        last = stamp
                        let message = Message(
                            channel: "ch", id: Int64(index + 1), time: stamp.time, tag: stamp.tag,
                            eventID: "e\(index + 1)", text: [], generation: generation)
                        messages.append((message, storeMask & (1 << index) != 0))
                    }
                    let storedCount = messages.filter(\.1).count
                    for trimmed in 0...storedCount {
                        result.append(History(messages: messages, trimmed: trimmed, generation: generation))
                    }
                }
            }
        }
        return result
    }

    static func backlog(_ history: History, knowsPrevious: Bool = true) -> ChannelBacklog {
        let stored = Array(history.messages.filter(\.stored).map(\.message).dropFirst(history.trimmed))
        let last = history.messages.last?.message.point ?? .start(of: history.generation)
        var previous: (time: Int64, tag: Int64)?
        if knowsPrevious, let first = stored.first {
            previous = first.id > 1 ? history.messages[Int(first.id) - 2].message.point.pair : (0, 0)
        }
        return ChannelBacklog(messages: stored, last: last, exists: true, previous: previous)
    }

    /// What a client that has everything up to `reached` must get, and whether it is told of a gap.
    /// What a client that has everything up to `reached` must get, and whether it is told of a
    /// gap. Expectations are recorded only for a failing case: tens of thousands of passing ones
    /// would otherwise cost seconds of CPU, and starve tests that run beside this one.
    static func check(
        _ history: History, reached: Int64, point: ResumePoint, knowsPrevious: Bool = true
    ) -> String? {
        let backlog = backlog(history, knowsPrevious: knowsPrevious)
        let selection = Resume.select(backlog, after: point)
        let lacking = history.messages.map(\.message.id).filter { $0 > reached }
        let stored = Set(backlog.messages.map(\.id))
        let oldestStored = backlog.messages.first?.id ?? (backlog.lastID + 1)
        let gone = lacking.contains { $0 < oldestStored }
        let delivered = selection.messages.map(\.id)
        var failures: [String] = []
        if delivered != lacking.filter(stored.contains) { failures.append("delivered \(delivered)") }
        if knowsPrevious ? selection.missed != gone : gone && !selection.missed {
            failures.append("missed \(selection.missed), gone \(gone)")
        }
        // Resuming from where the answer leaves the client gets nothing more and no second notice.
        let end = selection.end
        let again = Resume.select(backlog, after: .afterID(end.id, generation: end.generation))
        if !again.messages.isEmpty || again.missed { failures.append("again from \(end)") }
        if selection.missed {
            // A notice alone leaves the client right before what is stored: no second notice.
            let start = selection.start
            let fromNotice = Resume.select(backlog, after: .since(time: start.time, tag: start.tag))
            if fromNotice.missed || fromNotice.messages.map(\.id) != backlog.messages.map(\.id) {
                failures.append("from the notice at \(start)")
            }
        }
        guard !failures.isEmpty else { return nil }
        let context =
            "\(history.messages.map { ($0.message.id, $0.message.time, $0.message.tag, $0.stored) }) "
            + "trimmed \(history.trimmed), reached \(reached), \(point), knows previous \(knowsPrevious)"
        return "\(failures.joined(separator: "; ")): \(context)"
    }

    /// Seconds of work: on a thread of its own, so it never holds one of the two concurrency
    /// threads a 2-core machine has while other tests wait on them.
    @Test func everyWayOfNamingAPointGetsExactlyWhatItLacksOrTheNotice() async throws {
        let (count, failures) = try await Blocking.run { Self.checkEveryHistory() }
        #expect(count > 10_000)
        #expect(failures.isEmpty, "\(failures.count) failing cases, first: \(failures.prefix(5))")
    }

    /// Every history and point through ``check(_:reached:point:knowsPrevious:)``: how many
    /// histories, and what failed.
    static func checkEveryHistory() -> (Int, [String]) {
        // A generation begun at a whole second, and one begun within it: its tags in that second
        // continue from the microsecond.
        let histories = Self.histories(upTo: 6) + Self.histories(upTo: 4, generation: Self.generation + 417_302)
        var failures: [String] = []
        func check(_ history: History, reached: Int64, point: ResumePoint, knowsPrevious: Bool = true) {
            if let failure = Self.check(history, reached: reached, point: point, knowsPrevious: knowsPrevious) {
                failures.append(failure)
            }
        }
        for history in histories {
            for reached in 0...Int64(history.messages.count) {
                let at = reached > 0 ? history.messages[Int(reached) - 1].message : nil
                check(history, reached: reached, point: .afterID(reached, generation: history.generation))
                check(history, reached: reached, point: .afterID(reached, generation: 0))
                let (time, tag) = at.map { ($0.time, $0.tag) } ?? StreamPoint.start(of: history.generation).pair
                check(history, reached: reached, point: .since(time: time, tag: tag))
                check(history, reached: reached, point: .since(time: time, tag: tag), knowsPrevious: false)
                let backlog = Self.backlog(history)
                if let at, backlog.messages.contains(where: { $0.id == at.id }) {
                    check(history, reached: reached, point: .afterEventID(at.eventID!))
                }
            }
        }
        return (histories.count, failures)
    }

    @Test func aPointOfAnEarlierGenerationAlwaysGetsTheNoticeAndEverythingStored() {
        for history in Self.histories(upTo: 3) {
            let backlog = Self.backlog(history)
            for point in [ResumePoint.afterID(2, generation: 5_000_000), .since(time: 7, tag: 2)] {
                let selection = Resume.select(backlog, after: point)
                #expect(selection.missed)
                #expect(selection.messages.map(\.id) == backlog.messages.map(\.id))
            }
        }
    }

    /// A Redis restart (or a delete) makes the channel again within the second of the last
    /// message a time/tag client saw: the new generation's tags in that second start above the
    /// old one's, so the client's point is still known to be of the earlier generation.
    @Test func aTimeAndTagFromTheSecondTheGenerationBeganIsReported() {
        // The earlier generation began in second 10 at 0 µs and got messages at 10.000…10.417;
        // the channel was created again at 10.417302.
        let again = Self.generation + 417_302
        for history in Self.histories(upTo: 3, generation: again) where !history.messages.isEmpty {
            let backlog = Self.backlog(history)
            for earlierTag: Int64 in [1, 2, 40_000, 417_301] {
                let selection = Resume.select(backlog, after: .since(time: 10, tag: earlierTag))
                #expect(selection.missed, "tag \(earlierTag): \(history.messages.map(\.message.point))")
                #expect(selection.messages.map(\.id) == backlog.messages.map(\.id))
            }
        }
    }
}

extension StreamPoint {
    fileprivate var pair: (time: Int64, tag: Int64) { (time, tag) }
}

@Suite struct InterleaveTests {
    static func selection(_ channel: String, _ messages: [(id: Int64, order: Int64)]) -> ResumeSelection {
        let stored = messages.map {
            Message(channel: channel, id: $0.id, time: 1, tag: $0.id, text: [], generation: 1, order: $0.order)
        }
        return ResumeSelection(
            messages: stored[...], missed: false, start: .start(of: 1), end: stored.last?.point ?? .start(of: 1))
    }

    static func merged(_ selections: [ResumeSelection]) -> [String] {
        Resume.interleave(selections).map { "\($0.message.channel)\($0.message.id)" }
    }

    @Test func messagesOfSeveralChannelsComeInPublishOrder() {
        let a = Self.selection("a", [(1, 10), (2, 30)])
        let b = Self.selection("b", [(1, 5), (2, 20), (3, 40)])
        #expect(Self.merged([a, b]) == ["b1", "a1", "b2", "a2", "b3"])
        #expect(Resume.interleave([a, b]).map(\.channel) == [1, 0, 1, 0, 1])
    }

    @Test func aChannelKeepsItsOwnOrderWhenTheClockSteppedBack() {
        // b's messages were stamped 50 then 15: the clock stepped back between them.
        let a = Self.selection("a", [(1, 10), (2, 20)])
        let b = Self.selection("b", [(1, 50), (2, 15)])
        #expect(Self.merged([a, b]) == ["a1", "a2", "b1", "b2"])
    }

    @Test func tiesGoToTheEarlierChannelAndEmptyOnesAreSkipped() {
        let a = Self.selection("a", [(1, 10)])
        let empty = Self.selection("e", [])
        let b = Self.selection("b", [(1, 10), (2, 10)])
        #expect(Self.merged([b, empty, a]) == ["b1", "b2", "a1"])
        #expect(Self.merged([a, empty, b]) == ["a1", "b1", "b2"])
        #expect(Self.merged([]) == [])
        #expect(Self.merged([empty]) == [])
    }
}
