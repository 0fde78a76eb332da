import Testing

@testable import HeraldServer

@Suite struct RouteTests {
    @Test(arguments: [
        ("/sub/a/b", Route.subscriber(.streaming, channelsPath: "a/b", forceArguments: false)),
        ("/ev/a", Route.subscriber(.eventSource, channelsPath: "a", forceArguments: false)),
        ("/lp/a.b2", Route.subscriber(.longPolling, channelsPath: "a.b2", forceArguments: false)),
        ("/jsonp/a", Route.subscriber(.longPolling, channelsPath: "a", forceArguments: true)),
        ("/ws/a", Route.subscriber(.webSocket, channelsPath: "a", forceArguments: false)),
        ("/sub", Route.subscriber(.streaming, channelsPath: "", forceArguments: false)),
        ("/subway/a", Route.notFound),
        ("/pub", Route.notFound),
        ("/channels-stats", Route.notFound),
        ("/", Route.notFound),
    ])
    func publicListener(path: String, expected: Route) {
        #expect(Route.resolve(path: path[...], role: .public, publicPublisher: false) == expected)
    }

    @Test func publicPublisherIsNormalMode() {
        #expect(Route.resolve(path: "/pub", role: .public, publicPublisher: true) == .publisher(admin: false))
    }

    @Test(arguments: [
        ("/pub", Route.publisher(admin: true)),
        ("/channels-stats", Route.stats),
        ("/healthz", Route.health),
        ("/readyz", Route.readiness),
        ("/cluster", Route.cluster),
        ("/metrics", Route.metrics),
        ("/sub/a", Route.notFound),
    ])
    func adminListener(path: String, expected: Route) {
        #expect(Route.resolve(path: path[...], role: .admin, publicPublisher: false) == expected)
    }
}
