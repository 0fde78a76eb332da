import HeraldCore
import Testing

/// The pub/sub round-trip check: when probes go out, when a route counts as stalled, and when
/// it delivers again.
@Suite struct DeliveryProbeTests {
    @Test func aProbeGoesOutPerRouteEveryInterval() {
        var probe = DeliveryProbe(interval: 1_000, timeout: 500)
        #expect(probe.tick(routes: ["a", "b"], now: 0) == [.send(route: "a", token: 1), .send(route: "b", token: 2)])
        #expect(probe.received(route: "a", token: 1, now: 10).isEmpty)
        #expect(probe.received(route: "b", token: 2, now: 10).isEmpty)
        #expect(probe.tick(routes: ["a", "b"], now: 999).isEmpty)
        #expect(
            probe.tick(routes: ["a", "b"], now: 1_000) == [.send(route: "a", token: 3), .send(route: "b", token: 4)])
        #expect(probe.isDelivering)
    }

    @Test func aLateProbeStallsItsRouteOnlyUntilOneComesBack() {
        var probe = DeliveryProbe(interval: 1_000, timeout: 500)
        _ = probe.tick(routes: ["a", "b"], now: 0)
        _ = probe.received(route: "b", token: 2, now: 5)
        #expect(probe.tick(routes: ["a", "b"], now: 499).isEmpty)
        // Late: stalled, and probed again after a quarter of the timeout (not the interval),
        // once its connection has been replaced.
        #expect(probe.tick(routes: ["a", "b"], now: 500) == [.stalled(route: "a")])
        #expect(!probe.isDelivering && probe.stalled == ["a"])
        #expect(probe.tick(routes: ["a", "b"], now: 624).isEmpty)
        #expect(probe.tick(routes: ["a", "b"], now: 625) == [.send(route: "a", token: 3)])
        #expect(probe.tick(routes: ["a", "b"], now: 1_000) == [.send(route: "b", token: 4)])
        #expect(probe.tick(routes: ["a", "b"], now: 1_125) == [.stalled(route: "a")])
        #expect(probe.tick(routes: ["a", "b"], now: 1_250) == [.send(route: "a", token: 5)])
        // An old token proves nothing; the current one does.
        #expect(probe.received(route: "a", token: 3, now: 1_300).isEmpty)
        #expect(!probe.isDelivering)
        #expect(probe.received(route: "a", token: 5, now: 1_300) == [.recovered(route: "a")])
        #expect(probe.isDelivering)
        // Delivering again: back to the interval.
        #expect(probe.tick(routes: ["a"], now: 2_249).isEmpty)
        #expect(probe.tick(routes: ["a"], now: 2_250) == [.send(route: "a", token: 6)])
    }

    @Test func aProbeThatCouldNotBePublishedIsNotAStall() {
        var probe = DeliveryProbe(interval: 1_000, timeout: 500)
        _ = probe.tick(routes: ["a"], now: 0)
        probe.abandon(route: "a", token: 1)
        #expect(probe.tick(routes: ["a"], now: 600).isEmpty)
        #expect(probe.isDelivering)
        #expect(probe.tick(routes: ["a"], now: 1_000) == [.send(route: "a", token: 2)])
    }

    @Test func routesNoLongerListenedOnAreForgotten() {
        var probe = DeliveryProbe(interval: 1_000, timeout: 500)
        _ = probe.tick(routes: ["a", "gone"], now: 0)
        _ = probe.tick(routes: ["a", "gone"], now: 500)
        #expect(probe.stalled == ["a", "gone"])
        _ = probe.tick(routes: ["a"], now: 600)
        #expect(probe.stalled == ["a"])
        // A route that comes back starts afresh.
        #expect(probe.tick(routes: ["a", "gone"], now: 601) == [.send(route: "gone", token: 3)])
    }
}
