import HeraldCore
import NIOCore
import NIOHTTP1

extension HTTPConnectionHandler {
    /// `/cluster`: this node, the live members and the ring they form.
    func handleCluster(_ request: HTTPRequest) {
        let head = request.head
        guard head.method == .GET else {
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: "GET")
            return respond(head: head, error: .methodNotAllowed, headers: headers)
        }
        let cluster = node.cluster
        let settings = node.settings
        let shares = cluster.shares
        let members = cluster.members.map { member in
            #"{"id": "\#(JSONEscaping.escaped(member.id))", "advertise": "\#(JSONEscaping.escaped(member.advertise))", "#
                + #""self": \#(member.id == settings.identity), "fresh": \#(member.fresh), "#
                + #""ring_share": \#(Self.rounded(shares[member.advertise] ?? 0))}"#
        }
        let body =
            #"{"node": "\#(JSONEscaping.escaped(settings.identity))", "#
            + #""advertise": "\#(JSONEscaping.escaped(settings.advertisedAddress))", "#
            + #""engine": "\#(settings.redis == nil ? "memory" : "redis")", "draining": \#(node.isDraining), "#
            + #""misrouted_subscribers": \#(cluster.misroutedSubscribers), "#
            + "\"nodes\": [" + members.joined(separator: ", ") + "]}\r\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        ResponseHeaders.addNoCache(to: &headers)
        var buffer = ByteBuffer(string: body)
        respond(head: head, status: .ok, headers: headers, body: &buffer)
    }

    /// `/metrics`: Prometheus text exposition, when the process set metrics up.
    func handleMetrics(_ request: HTTPRequest) {
        guard let exposition = node.metricsExposition else {
            return respond(head: request.head, status: .notFound)
        }
        let metrics = node.metrics
        metrics.subscriberConnections.record(node.registry.connectionCount)
        metrics.hostedChannels.record(node.registry.localSubscriberCounts().count)
        metrics.engineReady.record(node.engine.isReady ? 1 : 0)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        var body = ByteBuffer(string: exposition())
        respond(head: request.head, status: .ok, headers: headers, body: &body)
    }

    private static func rounded(_ value: Double) -> String {
        String(Double((value * 10_000).rounded()) / 10_000)
    }
}
