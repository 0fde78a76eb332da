import HeraldCore
import Testing

@Suite struct ResumeTests {
    static func message(_ id: Int64, time: Int64 = 100, tag: Int64 = 1, eventID: String? = nil) -> Message {
        Message(channel: "ch", id: id, time: time, tag: tag, eventID: eventID, text: Array("m\(id)".utf8))
    }

    /// Five messages, ids 1…5.
    static let full = (1...5).map { message(Int64($0), time: 100 + Int64($0), eventID: "e\($0)") }
    /// The same channel after trimming: ids 4…5 of 5.
    static let trimmed = Array(full.suffix(2))

    static func ids(_ stored: [Message], lastID: Int64, _ point: ResumePoint) -> [Int64] {
        Resume.select(stored: stored, lastID: lastID, after: point).messages.map(\.id)
    }

    static func missed(_ stored: [Message], lastID: Int64, _ point: ResumePoint) -> Bool {
        Resume.select(stored: stored, lastID: lastID, after: point).missed
    }

    @Test func noneSelectsNothing() {
        #expect(Self.ids(Self.full, lastID: 5, .none) == [])
        #expect(!Self.missed(Self.trimmed, lastID: 5, .none))
    }

    @Test(
        arguments: [
            (0, []), (-3, []), (1, [5]), (2, [4, 5]), (5, [1, 2, 3, 4, 5]), (6, [1, 2, 3, 4, 5]),
            (Int.max, [1, 2, 3, 4, 5]),
        ] as [(Int, [Int64])])
    func backtrackTakesTheLastN(count: Int, expected: [Int64]) {
        #expect(Self.ids(Self.full, lastID: 5, .backtrack(count)) == expected)
        #expect(!Self.missed(Self.full, lastID: 5, .backtrack(count)))
    }

    @Test func backtrackOnATrimmedBacklogGivesWhatIsLeftWithoutMissed() {
        #expect(Self.ids(Self.trimmed, lastID: 5, .backtrack(4)) == [4, 5])
        #expect(!Self.missed(Self.trimmed, lastID: 5, .backtrack(4)))
    }

    @Test(
        arguments: [
            ("e1", [2, 3, 4, 5]), ("e3", [4, 5]), ("e5", []), ("nope", []), ("E1", []), ("", []),
        ] as [(String, [Int64])])
    func afterEventID(eventID: String, expected: [Int64]) {
        #expect(Self.ids(Self.full, lastID: 5, .afterEventID(eventID)) == expected)
        #expect(!Self.missed(Self.full, lastID: 5, .afterEventID(eventID)))
    }

    @Test func afterEventIDUsesTheFirstMatch() {
        let stored = [Self.message(1, eventID: "x"), Self.message(2, eventID: "x"), Self.message(3)]
        #expect(Self.ids(stored, lastID: 3, .afterEventID("x")) == [2, 3])
    }

    @Test func afterEventIDIgnoresMessagesWithoutOne() {
        let stored = [Self.message(1), Self.message(2, eventID: "b"), Self.message(3)]
        #expect(Self.ids(stored, lastID: 3, .afterEventID("b")) == [3])
    }

    /// Messages: (1: t=10 tag=1), (2: t=10 tag=2), (3: t=11 tag=1), (4: t=12 tag=5).
    static let timed = [
        message(1, time: 10, tag: 1), message(2, time: 10, tag: 2), message(3, time: 11, tag: 1),
        message(4, time: 12, tag: 5),
    ]

    @Test(
        arguments: [
            (9, nil, [1, 2, 3, 4]),
            (10, nil, [3, 4]),
            (10, 1, [2, 3, 4]),
            (10, 2, [3, 4]),
            (10, 0, [1, 2, 3, 4]),
            (10, 3, [3, 4]),
            (11, nil, [4]),
            (11, 1, [4]),
            (11, 0, [3, 4]),
            (12, 5, []),
            (12, 4, [4]),
            (12, 9, []),
            (13, nil, []),
            (0, nil, [1, 2, 3, 4]),
            (9, 7, [1, 2, 3, 4]),
        ] as [(Int64, Int64?, [Int64])])
    func sinceTimeAndTag(time: Int64, tag: Int64?, expected: [Int64]) {
        #expect(Self.ids(Self.timed, lastID: 4, .since(time: time, tag: tag)) == expected)
        #expect(!Self.missed(Self.timed, lastID: 4, .since(time: time, tag: tag)))
    }

    @Test func sinceStartsAtTheFirstQualifyingMessageEvenIfLaterOnesAreOlder() {
        // A tag that does not increase within the second does not skip later messages.
        let stored = [Self.message(1, time: 10, tag: 5), Self.message(2, time: 10, tag: 1)]
        #expect(Self.ids(stored, lastID: 2, .since(time: 10, tag: 5)) == [2])
        #expect(Self.ids(stored, lastID: 2, .since(time: 10, tag: 4)) == [1, 2])
    }

    @Test(
        arguments: [
            (0, [1, 2, 3, 4, 5]), (1, [2, 3, 4, 5]), (4, [5]), (5, []), (-7, [1, 2, 3, 4, 5]),
        ] as [(Int64, [Int64])])
    func afterIDOnAFullBacklog(after: Int64, expected: [Int64]) {
        #expect(Self.ids(Self.full, lastID: 5, .afterID(after)) == expected)
        #expect(!Self.missed(Self.full, lastID: 5, .afterID(after)))
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
        #expect(Self.ids(Self.trimmed, lastID: 5, .afterID(after)) == expected)
        #expect(Self.missed(Self.trimmed, lastID: 5, .afterID(after)) == missed)
    }

    @Test(arguments: [(0, true), (3, true), (4, true), (5, false)] as [(Int64, Bool)])
    func afterIDWithAnEmptyBacklog(after: Int64, missed: Bool) {
        // Everything expired: the client is up to date only if it already had the last id.
        #expect(Self.ids([], lastID: 5, .afterID(after)) == [])
        #expect(Self.missed([], lastID: 5, .afterID(after)) == missed)
    }

    @Test func afterIDOnABrandNewChannel() {
        #expect(Self.ids([], lastID: 0, .afterID(0)) == [])
        #expect(!Self.missed([], lastID: 0, .afterID(0)))
    }

    @Test func afterIDBeyondLastIDMeansTheChannelWasRecreated() {
        // The client saw id 9 of an earlier incarnation; the new channel has ids 1…3.
        let recreated = (1...3).map { Self.message(Int64($0)) }
        #expect(Self.ids(recreated, lastID: 3, .afterID(9)) == [1, 2, 3])
        #expect(!Self.missed(recreated, lastID: 3, .afterID(9)))
        // …and if the new incarnation has already been trimmed, that loss is reported.
        #expect(Self.ids(Array(recreated.suffix(1)), lastID: 3, .afterID(9)) == [3])
        #expect(Self.missed(Array(recreated.suffix(1)), lastID: 3, .afterID(9)))
        #expect(Self.missed([], lastID: 3, .afterID(9)))
        #expect(!Self.missed([], lastID: 0, .afterID(9)))
    }

    @Test func afterIDHandlesLargeBacklogs() {
        let stored = (1...10_000).map { Self.message(Int64($0) + 500) }
        let selection = Resume.select(stored: stored, lastID: 10_500, after: .afterID(9_000))
        #expect(selection.messages.first?.id == 9_001)
        #expect(selection.messages.count == 1_500)
        #expect(!selection.missed)
        #expect(Resume.select(stored: stored, lastID: 10_500, after: .afterID(499)).missed)
        #expect(!Resume.select(stored: stored, lastID: 10_500, after: .afterID(500)).missed)
    }

    @Test func selectionIsASliceOfTheBacklog() {
        let selection = Resume.select(stored: Self.full, lastID: 5, after: .afterID(3))
        #expect(Array(selection.messages) == Array(Self.full[3...]))
    }
}
