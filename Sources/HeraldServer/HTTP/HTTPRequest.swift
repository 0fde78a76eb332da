import HeraldCore
import NIOCore
import NIOHTTP1

/// A complete request: head and (bounded) body.
struct HTTPRequest {
    let head: HTTPRequestHead
    var body: ByteBuffer?
    /// The peer the request came from (nginx's address behind nginx).
    var remoteAddress: SocketAddress? = nil

    var path: Substring { head.uri.pathPart }

    var query: Substring {
        let uri = head.uri[...]
        return uri.firstIndex(of: "?").map { uri[uri.index(after: $0)...] } ?? ""
    }

    /// The decoded value of a query argument (`""` when present without value).
    func argument(_ name: String) -> String? {
        PercentDecoding.queryValue(query, name: name)
    }

    /// A query argument as sent, still percent-encoded (channel lists are checked before decoding).
    func rawArgument(_ name: String) -> Substring? {
        PercentDecoding.rawQueryValue(query, name: name)
    }

    var bodyBytes: [UInt8] {
        body.map { Array($0.readableBytesView) } ?? []
    }
}
