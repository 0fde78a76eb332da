import HeraldCore
import Testing

@testable import HeraldServer

/// Before its backlog is read, a subscriber stands where it asked to resume from: an answer given
/// then (its node stopping) repeats the client's own point, never 0.
@Suite struct ChannelSubscriptionTests {
    @Test func standsAtItsResumePointUntilCaughtUp() {
        let byTime = ChannelSubscription(channel: "c", resume: .since(time: 1_700_000_000, tag: 3))
        #expect(byTime.point == StreamPoint(id: 0, generation: 0, time: 1_700_000_000, tag: 3))
        let byCursor = ChannelSubscription(channel: "c", resume: .afterID(41, generation: 9))
        #expect(byCursor.point == StreamPoint(id: 41, generation: 9, time: 0, tag: 0))
        #expect(ChannelSubscription(channel: "c", resume: .none).point.id == 0)
    }

    @Test func aNoticeConcernsOnlyASubscriberBehindIt() {
        var subscription = ChannelSubscription(channel: "c", resume: .none)
        subscription.point = StreamPoint(id: 5, generation: 7, time: 10, tag: 1)
        #expect(!subscription.isBehind(StreamPoint(id: 5, generation: 7, time: 10, tag: 1)))
        #expect(!subscription.isBehind(StreamPoint(id: 3, generation: 7, time: 9, tag: 1)))
        #expect(subscription.isBehind(StreamPoint(id: 6, generation: 7, time: 10, tag: 2)))
        #expect(subscription.isBehind(StreamPoint(id: 0, generation: 8, time: 11, tag: 0)))
    }
}
