import HeraldCore
import Testing

/// What the app's answer to the cookie check amounts to, and how Herald names the channels.
@Suite struct CookieCheckVerdictTests {
    @Test func channelsAreNamedPercentEncodedStarIncluded() {
        #expect(CookieCheck.channelsValue(["news"]) == "news")
        #expect(CookieCheck.channelsValue(["a,b", "room:1", "x*", "é"]) == "a%2Cb,room%3A1,x%2A,%C3%A9")
        #expect(CookieCheck.channelsValue([String]()) == "")
    }

    @Test func aTwoHundredAllowsTheRequestedChannelsAndNamesTheUser() throws {
        for status in [200, 204, 299] {
            let grant = try CookieCheck.verdict(
                status: status, user: " 42 ", channels: nil, expires: nil, requested: ["a", "b"]
            ).get()
            #expect(grant == Grant(user: "42", channels: ["a", "b"]))
        }
        let anonymous = try CookieCheck.verdict(status: 200, user: "", channels: nil, expires: nil, requested: ["a"])
            .get()
        #expect(anonymous.user == nil)
    }

    @Test func theAppsChannelsNarrowWhatMayBeRead() throws {
        let grant = try CookieCheck.verdict(
            status: 200, user: "7", channels: "room%3Aa, lobby* ,, x%2A,*", expires: nil, requested: ["room:a"]
        ).get()
        #expect(grant.channels == ["room:a", "x*"])
        #expect(grant.channelPrefixes == ["lobby"])
        #expect(throws: ProtocolError.channelNotGranted) { try grant.authorize(["room:b"], now: 0) }
        #expect(throws: Never.self) { try grant.authorize(["room:a", "lobby:1", "x*"], now: 0) }
        let none = try CookieCheck.verdict(status: 200, user: nil, channels: "", expires: nil, requested: ["a"]).get()
        #expect(throws: ProtocolError.channelNotGranted) { try none.authorize(["a"], now: 0) }
    }

    @Test func otherUsersChannelsStayClosedWhateverTheAppLists() throws {
        let grant = try CookieCheck.verdict(
            status: 200, user: "42", channels: nil, expires: nil, requested: ["user:43", "user:42"]
        ).get()
        #expect(throws: ProtocolError.channelNotGranted) {
            try grant.authorize(["user:43"], now: 0, userChannelPrefix: "user:")
        }
        #expect(throws: Never.self) { try grant.authorize(["user:42"], now: 0, userChannelPrefix: "user:") }
    }

    @Test func anExpiryEndsThePermission() throws {
        let grant = try CookieCheck.verdict(status: 200, user: nil, channels: nil, expires: "100", requested: ["a"])
            .get()
        #expect(grant.expires == 100)
        #expect(throws: ProtocolError.grantExpired) { try grant.authorize(["a"], now: 100) }
        for bad in ["soon", "-5", "0", "1.5"] {
            #expect(
                CookieCheck.verdict(status: 200, user: nil, channels: nil, expires: bad, requested: ["a"])
                    == .failure(CookieCheck.failed), "\(bad)")
        }
    }

    @Test func refusalsKeepTheAppsStatusAndFailuresAreServiceUnavailable() {
        for status in [400, 401, 403, 404, 429, 499] {
            let verdict = CookieCheck.verdict(status: status, user: "1", channels: nil, expires: nil, requested: [])
            #expect(verdict == .failure(ProtocolError(status: status, explain: "Authorization check refused.")))
            #expect(CookieCheck.isCacheable(verdict))
        }
        for status in [100, 301, 302, 304, 500, 502, 503, 599] {
            let verdict = CookieCheck.verdict(status: status, user: "1", channels: nil, expires: nil, requested: [])
            #expect(verdict == .failure(CookieCheck.failed), "\(status)")
            #expect(!CookieCheck.isCacheable(verdict))
        }
        #expect(!CookieCheck.isCacheable(.failure(CookieCheck.timedOut)))
        #expect(!CookieCheck.isCacheable(.failure(CookieCheck.unavailable)))
        #expect(CookieCheck.isCacheable(.success(Grant())))
    }

    @Test func encodingRoundTripsThroughDecoding() {
        for name in ["plain", "a b", "ünï/cödé", "100%", "a*", "(x)!~'", "\u{1}"] {
            #expect(PercentDecoding.decode(PercentDecoding.encodeComponent(name)[...]) == name)
        }
        #expect(PercentDecoding.encodeComponent("a*b") == "a*b")
        #expect(PercentDecoding.encodeComponent("a*b", alsoEscaping: UInt8(ascii: "*")) == "a%2Ab")
    }
}
