import HeraldCore
import NIOCore
import NIOHTTP1

/// Headers push-stream puts on its responses, in one place.
enum ResponseHeaders {
    static let explain = "X-Nginx-PushStream-Explain"
    /// Which node answered: every response carries it, so a misrouting load balancer shows.
    static let node = "X-Herald-Node"
    static let allowHeaders = "If-Modified-Since,If-None-Match,Etag,Event-Id,Event-Type,Last-Event-Id"

    /// What every answer carries: which node answered, and no content sniffing (a JSONP or
    /// long-poll body must never be taken for HTML).
    /// Added, not replaced: no endpoint sets them itself.
    static func addCommon(identity: String, to headers: inout HTTPHeaders) {
        headers.add(name: node, value: identity)
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
    }

    /// Publisher and subscriber responses must never be cached by a browser or proxy.
    static func addNoCache(to headers: inout HTTPHeaders) {
        headers.add(name: "Expires", value: "Thu, 01 Jan 1970 00:00:01 GMT")
        headers.add(name: "Cache-Control", value: "no-cache, no-store, must-revalidate")
    }

    /// CORS headers, when `--allowed-origins` is set, for a request from `origin`.
    static func addCORS(policy: OriginPolicy?, origin: String?, methods: String, to headers: inout HTTPHeaders) {
        guard let policy, let allowed = policy.allowOrigin(for: origin) else { return }
        headers.add(name: "Access-Control-Allow-Origin", value: allowed)
        if policy.allowsCredentials {
            headers.add(name: "Access-Control-Allow-Credentials", value: "true")
            headers.add(name: "Vary", value: "Origin")
        }
        headers.add(name: "Access-Control-Allow-Methods", value: methods)
        // push-stream's list; a listed origin may also send a grant or key as Authorization.
        headers.add(
            name: "Access-Control-Allow-Headers",
            value: policy.allowsCredentials ? allowHeaders + ",Authorization" : allowHeaders)
    }

    /// The status line and headers as raw bytes, for connections that leave the HTTP codec behind.
    ///
    /// Written piece by piece into one buffer sized up front: building a `String` by interpolation
    /// and copying it into a buffer took about ten allocations on every subscriber's connect.
    static func render(status: HTTPResponseStatus, version: HTTPVersion, headers: HTTPHeaders) -> ByteBuffer {
        let reason = status.reasonPhrase
        // "HTTP/1.1 200 " is 13 bytes, then the reason, "\r\n", each "name: value\r\n", and "\r\n".
        var size = 24 + reason.utf8.count
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        var head = ByteBufferAllocator().buffer(capacity: size)
        head.writeStaticString("HTTP/")
        head.writeString(String(version.major))
        head.writeStaticString(".")
        head.writeString(String(version.minor))
        head.writeStaticString(" ")
        head.writeString(String(status.code))
        head.writeStaticString(" ")
        head.writeString(reason)
        head.writeStaticString("\r\n")
        for (name, value) in headers {
            head.writeString(name)
            head.writeStaticString(": ")
            head.writeString(value)
            head.writeStaticString("\r\n")
        }
        head.writeStaticString("\r\n")
        return head
    }
}
