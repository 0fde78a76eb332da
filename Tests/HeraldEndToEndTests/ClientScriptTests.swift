import Foundation
import HeraldTesting
import Testing

/// Every node serves the browser client, the repository's file byte for byte.
@Suite struct ClientScriptTests {
    @Test func theNodeServesHeraldJS() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let answer = try await node.get("/herald.js")
        #expect(answer.status == 200)
        #expect(answer.headers["Content-Type"] == "application/javascript; charset=utf-8")
        #expect(answer.headers["Cache-Control"] == "public, max-age=300")
        let file = try Data(contentsOf: Repository.file("clients/js/herald.js"))
        #expect(answer.body == Array(file))
        #expect(try await node.request("POST", "/herald.js", body: []).status == 405)
        #expect(try await node.admin("GET", "/herald.js").status == 404)
    }
}
