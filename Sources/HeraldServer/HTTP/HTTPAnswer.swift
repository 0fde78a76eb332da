import HeraldCore
import NIOCore
import NIOHTTP1

/// A complete answer to one request: status, headers and a body sent with a `Content-Length`.
///
/// Endpoints build answers; the connection adds the headers every answer carries (length, node,
/// `nosniff`, `Connection: close`) when it writes them, in request order.
struct HTTPAnswer {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer
    /// The connection ends after this answer (a refusal that leaves the request unread).
    var closesConnection: Bool

    init(
        status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer(),
        closesConnection: Bool = false
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.closesConnection = closesConnection
    }

    /// A header-only refusal carrying push-stream's explain text.
    init(error: ProtocolError, headers: HTTPHeaders = [:], closesConnection: Bool = false) {
        var headers = headers
        if let explain = error.explain { headers.replaceOrAdd(name: ResponseHeaders.explain, value: explain) }
        self.init(
            status: HTTPResponseStatus(statusCode: error.status), headers: headers, closesConnection: closesConnection)
    }

    /// A text body with its content type.
    init(status: HTTPResponseStatus = .ok, text: String, contentType: String, headers: HTTPHeaders = [:]) {
        var headers = headers
        headers.add(name: "Content-Type", value: contentType)
        self.init(status: status, headers: headers, body: ByteBuffer(string: text))
    }

    /// The refusal for an engine failure or a protocol error thrown on the way.
    init(failure: any Error, headers: HTTPHeaders = [:]) {
        self.init(error: (failure as? ProtocolError) ?? .engineUnavailable, headers: headers)
    }
}

extension HTTPAnswer {
    /// 405 with the methods the endpoint takes.
    static func methodNotAllowed(allow: String, headers: HTTPHeaders = [:]) -> HTTPAnswer {
        var headers = headers
        headers.replaceOrAdd(name: "Allow", value: allow)
        return HTTPAnswer(error: .methodNotAllowed, headers: headers)
    }
}
