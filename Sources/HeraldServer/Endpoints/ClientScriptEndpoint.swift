import HeraldClientScript
import NIOCore
import NIOHTTP1

/// `/herald.js` on the public listener: the browser client, so a page loads it from the push
/// service it talks to (`<script src="https://push.example.com/herald.js">`).
struct ClientScriptEndpoint: Endpoint {
    /// The script as one buffer, made once: every answer shares it.
    private static let body: ByteBuffer? = ClientScript.bytes.map { ByteBuffer(bytes: $0) }

    private static let headers: HTTPHeaders = [
        "Content-Type": "application/javascript; charset=utf-8",
        // Short: a page picks up a new version within minutes of an upgrade.
        "Cache-Control": "public, max-age=300",
    ]

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        guard request.head.method == .GET else { return .answer(.methodNotAllowed(allow: "GET")) }
        guard let body = Self.body else { return .answer(HTTPAnswer(status: .notFound)) }
        return .answer(HTTPAnswer(status: .ok, headers: Self.headers, body: body))
    }
}
