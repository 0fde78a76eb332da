import Foundation
import HeraldTesting
import Testing

/// `--publisher-key` and `--admin-key`: nothing publishes, and no admin read answers, without
/// `Authorization: Bearer <key>`, on either listener.
@Suite struct KeyTests {
    static let publisherKey = "pk-0123456789abcdef"
    static let adminKey = "ak-fedcba9876543210"

    @Test func publishingNeedsThePublisherKeyOnBothListeners() async throws {
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("herald-key-\(UUID().uuidString)")
        try Data((Self.publisherKey + "\n").utf8).write(to: keyFile)
        defer { try? FileManager.default.removeItem(at: keyFile) }
        let node = try await HeraldProcess.start(["--publisher-key-file", keyFile.path, "--public-publisher"])
        defer { node.stop() }
        let body = Array("hello".utf8)
        for headers in [[], [("Authorization", "Bearer wrong")], [("Authorization", "Basic \(Self.publisherKey)")]] {
            let admin = try await node.admin("POST", "/pub?id=k", headers: headers, body: body)
            #expect(admin.status == 401, "\(headers)")
            #expect(admin.explain == "A valid key is required.")
            #expect(try await node.request("POST", "/pub?id=k", headers: headers, body: body).status == 401)
        }
        let key = [("Authorization", "Bearer \(Self.publisherKey)")]
        #expect(try await node.admin("POST", "/pub?id=k", headers: key, body: body).status == 200)
        #expect(try await node.request("POST", "/pub?id=k", headers: key, body: body).status == 200)
        #expect(try await node.admin("GET", "/pub?id=k").status == 401)
        #expect(try await node.admin("DELETE", "/pub?id=k", headers: key).status == 200)
        // Subscribers and health need no key.
        #expect(try await node.get("/lp/k", headers: [("X-Nginx-PushStream-Mode", "polling")]).status == 304)
        #expect(try await node.admin("GET", "/healthz").status == 200)
    }

    @Test func adminReadsNeedTheAdminKey() async throws {
        let node = try await HeraldProcess.start(["--admin-key", Self.adminKey])
        defer { node.stop() }
        for path in ["/channels-stats", "/cluster", "/metrics", "/presence?user=42"] {
            #expect(try await node.admin("GET", path).status == 401, "\(path)")
            let keyed = try await node.admin("GET", path, headers: [("Authorization", "Bearer \(Self.adminKey)")])
            #expect(keyed.status == 200, "\(path)")
        }
        // The publisher has its own key; none is set here.
        #expect(try await node.admin("POST", "/pub?id=open", body: Array("x".utf8)).status == 200)
    }
}
