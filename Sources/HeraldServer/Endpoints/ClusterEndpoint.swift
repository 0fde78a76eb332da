import HeraldCore
import NIOCore
import NIOHTTP1

/// `/cluster`: this node, the live members and the ring they form.
struct ClusterEndpoint: Endpoint {
    let node: NodeContext

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        guard request.head.method == .GET else { return .answer(.methodNotAllowed(allow: "GET")) }
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
            + #""engine": "\#(settings.redisCluster != nil ? "redis-cluster" : settings.redis == nil ? "memory" : "redis")", "draining": \#(node.isDraining), "#
            + #""misrouted_subscribers": \#(cluster.misroutedSubscribers), "#
            + "\"nodes\": [" + members.joined(separator: ", ") + "]}\r\n"
        var headers = HTTPHeaders()
        ResponseHeaders.addNoCache(to: &headers)
        return .answer(HTTPAnswer(text: body, contentType: "application/json", headers: headers))
    }

    private static func rounded(_ value: Double) -> String {
        String(Double((value * 10_000).rounded()) / 10_000)
    }
}
