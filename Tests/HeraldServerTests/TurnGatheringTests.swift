import Testing

@testable import HeraldServer

@Suite struct TurnGatheringTests {
    @Test func theFirstOfATurnSchedulesAndTheTakeHandsOverAllInOrder() {
        let gathering = TurnGathering<Int>()
        #expect(gathering.add(1))
        #expect(!gathering.add(2))
        #expect(!gathering.add(3))
        #expect(gathering.take(limit: 256).map(Array.init) == [[1, 2, 3]])
        // A take ends the turn: the next add schedules again, and nothing is handed over twice.
        #expect(gathering.add(4))
        #expect(gathering.take(limit: 256).map(Array.init) == [[4]])
        #expect(gathering.take(limit: 256).isEmpty)
    }

    @Test(arguments: [
        (0, 256, [Int]()), (256, 256, [256]), (257, 256, [256, 1]), (600, 256, [256, 256, 88]), (3, 0, [1, 1, 1]),
    ])
    func aLargeTurnIsHandedOverAtMostLimitAtATime(count: Int, limit: Int, sizes: [Int]) {
        let gathering = TurnGathering<Int>()
        for item in 0..<count { _ = gathering.add(item) }
        let parts = gathering.take(limit: limit)
        #expect(parts.map(\.count) == sizes)
        #expect(parts.flatMap { $0 } == Array(0..<count))
    }
}
