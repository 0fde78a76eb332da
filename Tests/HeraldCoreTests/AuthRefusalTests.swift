import Testing

@testable import HeraldCore

/// The `reason` label of `herald_auth_refusals_total` for each way a subscriber is refused.
@Suite struct AuthRefusalTests {
    @Test func theLabelsAreAFixedSmallSet() {
        #expect(
            AuthRefusal.allCases.map(\.rawValue) == [
                "missing", "invalid", "expired", "channel", "origin", "app_denied", "app_unavailable",
            ])
    }

    @Test(arguments: [
        (ProtocolError.grantMissing, AuthRefusal.missing), (.grantExpired, .expired), (.channelNotGranted, .channel),
        (.originNotAllowed, .origin), (.grantInvalid, .invalid), (.grantNotYetValid, .invalid),
        (CookieCheck.failed, .appUnavailable), (CookieCheck.timedOut, .appUnavailable),
        (CookieCheck.unavailable, .appUnavailable),
    ])
    func eachRefusalCountsUnderItsReason(error: ProtocolError, reason: AuthRefusal) {
        #expect(AuthRefusal(error) == reason)
    }

    @Test func anyFourHundredTheAppAnswersIsAnAppDenial() {
        for status in 400..<500 {
            #expect(AuthRefusal(ProtocolError(status: status, explain: CookieCheck.refusedExplain)) == .appDenied)
        }
    }

    @Test func theCookieChecksOwnVerdictsCountAsTheAppsAnswer() {
        for status in [400, 401, 403, 404, 429, 499] {
            let verdict = CookieCheck.verdict(status: status, user: nil, channels: nil, expires: nil, requested: ["a"])
            guard case .failure(let error) = verdict else {
                Issue.record("\(status) allowed")
                continue
            }
            #expect(AuthRefusal(error) == .appDenied, "\(status)")
        }
        for status in [301, 500, 503] {
            let verdict = CookieCheck.verdict(status: status, user: nil, channels: nil, expires: nil, requested: ["a"])
            guard case .failure(let error) = verdict else {
                Issue.record("\(status) allowed")
                continue
            }
            #expect(AuthRefusal(error) == .appUnavailable, "\(status)")
        }
    }

    @Test func aGrantsOwnRefusalsCountAsTheirReasons() throws {
        let grant = try CookieCheck.verdict(status: 200, user: "42", channels: "a", expires: "100", requested: ["a"])
            .get()
        #expect(throws: ProtocolError.grantExpired) { try grant.authorize(["a"], now: 100) }
        #expect(AuthRefusal(.grantExpired) == .expired)
        #expect(throws: ProtocolError.channelNotGranted) { try grant.authorize(["b"], now: 0) }
        #expect(AuthRefusal(.channelNotGranted) == .channel)
    }

    @Test func theRefusedTextOutsideFourHundredsIsNotAnAppDenial() {
        for status in [200, 399, 500, 503] {
            #expect(AuthRefusal(ProtocolError(status: status, explain: CookieCheck.refusedExplain)) == .invalid)
        }
    }

    @Test func otherFourHundredsAndUnknownErrorsCountAsInvalid() {
        let others = [
            ProtocolError.channelNotAuthorized, .keyRequired, .notFound, .malformedRequest, .invalidChannelID,
            ProtocolError(status: 403, explain: nil),
            ProtocolError(status: 403, explain: "Authorization check refused"),
            ProtocolError(status: 401, explain: "A grant is required"), ProtocolError(status: 503, explain: nil),
        ]
        for error in others {
            #expect(AuthRefusal(error) == .invalid, "\(error)")
        }
        #expect(AuthRefusal(nil) == .invalid)
    }

    @Test func everyReasonIsReachable() {
        let errors: [ProtocolError?] = [
            .grantMissing, nil, .grantExpired, .channelNotGranted, .originNotAllowed,
            ProtocolError(status: 403, explain: CookieCheck.refusedExplain), CookieCheck.timedOut,
        ]
        #expect(errors.map(AuthRefusal.init) == AuthRefusal.allCases)
    }
}
