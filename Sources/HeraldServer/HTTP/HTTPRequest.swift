import HeraldCore
import NIOCore
import NIOHTTP1

/// A complete request: head and (bounded) body.
struct HTTPRequest {
    let head: HTTPRequestHead
    var body: ByteBuffer?

    var path: Substring {
        let uri = head.uri[...]
        return uri.firstIndex(of: "?").map { uri[..<$0] } ?? uri
    }

    var query: Substring {
        let uri = head.uri[...]
        return uri.firstIndex(of: "?").map { uri[uri.index(after: $0)...] } ?? ""
    }

    /// The decoded value of a query argument (`""` when present without value).
    func argument(_ name: String) -> String? {
        PercentDecoding.queryValue(query, name: name)
    }

    var bodyBytes: [UInt8] {
        body.map { Array($0.readableBytesView) } ?? []
    }
}
