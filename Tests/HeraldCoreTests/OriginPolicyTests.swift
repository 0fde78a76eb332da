import HeraldCore
import Testing

@Suite struct OriginPolicyTests {
    @Test func starIsPushStreamsAnyOriginWithoutCredentials() throws {
        let policy = try #require(OriginPolicy(" * "))
        #expect(policy.allowOrigin(for: "https://anything.example") == "*")
        #expect(policy.allowOrigin(for: nil) == "*")
        #expect(policy.admits("https://anything.example"))
        #expect(!policy.allowsCredentials)
    }

    @Test func aListAnswersOnlyItsOriginsWithTheirOwnName() throws {
        let policy = try #require(OriginPolicy("https://a.example, HTTPS://B.example/ ,"))
        #expect(policy.allowOrigin(for: "https://a.example") == "https://a.example")
        #expect(policy.allowOrigin(for: "https://b.example") == "https://b.example")
        #expect(policy.allowOrigin(for: "https://evil.example") == nil)
        #expect(policy.allowOrigin(for: nil) == nil)
        #expect(policy.admits("https://B.EXAMPLE"))
        #expect(!policy.admits("https://a.example.evil"))
        #expect(!policy.admits("null"))
        #expect(policy.admits(nil), "a request without Origin is not from a page")
        #expect(policy.allowsCredentials)
    }

    @Test(arguments: [nil, "", "  ", ",", " , "] as [String?])
    func nothingMeansNoPolicy(text: String?) {
        #expect(OriginPolicy(text) == nil)
    }
}
