import HeraldCore
import NIOHTTP1
import Testing

@testable import HeraldServer

@Suite struct GrantCarryingTests {
    static func request(_ uri: String, _ headers: [(String, String)] = []) -> HTTPRequest {
        HTTPRequest(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: HTTPHeaders(headers)))
    }

    @Test func theArgumentWinsThenTheBearerThenTheCookie() {
        let all = Self.request("/ev/a?token=arg", [("Authorization", "Bearer head"), ("Cookie", "g=cookie")])
        #expect(SubscriberAuthorization.token(in: all, cookie: "g") == "arg")
        let header = Self.request("/ev/a?token=", [("Authorization", "bearer  head "), ("Cookie", "g=cookie")])
        #expect(SubscriberAuthorization.token(in: header, cookie: "g") == "head")
        let cookie = Self.request("/ev/a", [("Authorization", "Basic xyz"), ("Cookie", "a=1; g=cookie; b=2")])
        #expect(SubscriberAuthorization.token(in: cookie, cookie: "g") == "cookie")
        #expect(SubscriberAuthorization.token(in: cookie, cookie: nil) == nil)
        #expect(SubscriberAuthorization.token(in: Self.request("/ev/a", [("Cookie", "gg=x; g=")]), cookie: "g") == nil)
    }

    @Test(arguments: ["Bearer", "Bearer ", "Token abc", "", "Bearerabc"])
    func aMalformedAuthorizationCarriesNoGrant(header: String) {
        #expect(SubscriberAuthorization.bearerToken(header) == nil)
    }
}
