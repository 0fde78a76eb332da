import Testing

@testable import HeraldServer

/// `--auth-url`: what the cookie check can ask, read once at start.
@Suite struct AppRequestTargetTests {
    @Test func plainHTTPURLsAreRead() throws {
        let cases: [(String, String, Int, String, String)] = [
            ("http://app", "app", 80, "/", "app"),
            ("http://app:8080/herald/check?x=1", "app", 8080, "/herald/check?x=1", "app:8080"),
            ("http://127.0.0.1:9090/app/check", "127.0.0.1", 9090, "/app/check", "127.0.0.1:9090"),
            ("http://[::1]:81/c", "::1", 81, "/c", "[::1]:81"),
            ("http://[::1]/c", "::1", 80, "/c", "[::1]"),
        ]
        for (url, host, port, path, hostHeader) in cases {
            let target = try #require(AppRequest.Target(url), "\(url)")
            #expect(target.host == host && target.port == port && target.path == path, "\(url)")
            #expect(target.hostHeader == hostHeader, "\(url)")
        }
    }

    @Test func anythingElseIsRefused() {
        for url in [
            "https://app/check", "app/check", "http://", "http:///check", "http://app:0/", "http://app:65536/",
            "http://app:port/", "http://user:pass@app/", "http://[::1/", "http://[::1]x/", "ftp://app/",
        ] {
            #expect(AppRequest.Target(url) == nil, "\(url)")
        }
    }
}
