import Foundation
import HeraldTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Starting, configuring and stopping the `herald` process.
@Suite struct LifecycleTests {
    @Test func sigtermSendsEverySubscriberItsEndingAndExitsZero() async throws {
        let node = try await HeraldProcess.start(["--shutdown-grace", "8s"])
        defer { node.stop() }
        let stream = try await HTTPStream.connect(port: node.port, "/sub/bye")
        let events = try await HTTPStream.connect(port: node.port, "/ev/bye")
        let socket = try await WebSocketTestClient.connect(port: node.port, "/ws/bye")
        try #require(try await node.waitForSubscribers("bye", count: 3))

        let started = ContinuousClock.now
        async let status = node.terminate(timeout: .seconds(12))
        async let streamEnded = stream.readEnd(timeout: .seconds(10))
        async let eventsEnded = events.readEnd(timeout: .seconds(10))
        async let socketClosed = socket.waitClosed(timeout: .seconds(10))
        #expect(try await streamEnded)
        #expect(try await eventsEnded)
        #expect(try await socketClosed)
        let exitStatus = try await status
        let elapsed = ContinuousClock.now - started
        #expect(exitStatus == 0, "\(node.output)")
        #expect(elapsed < .seconds(4), "took \(elapsed) with an 8s grace")
        #expect(stream.sawLastChunk)
        #expect(stream.text.hasSuffix("</body></html>"))
        #expect(events.sawLastChunk)
        #expect(socket.received.last?.isClose == true)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func idleNodeStopsPromptly(signal: Int32) async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        // An idle keep-alive connection must not hold the shutdown for the whole grace period.
        let client = try RawHTTPClient(port: node.adminPort)
        defer { client.close() }
        _ = try await client.perform("GET", "/healthz")
        let started = ContinuousClock.now
        let status = try await node.terminate(signal: signal)
        #expect(status == 0)
        // Well under the 10 s grace (an idle connection does not hold the stop), with room for a
        // loaded machine.
        #expect(ContinuousClock.now - started < .seconds(6))
    }

    @Test func portsFromTheEnvironment() async throws {
        let node = try await HeraldProcess.start(portsAsOptions: false)
        defer { node.stop() }
        #expect(!node.arguments.contains("--port"))
        #expect(try await node.publish("env", "x").status == 200)
        let stream = try await HTTPStream.connect(port: node.port, "/ev/env.b1")
        defer { stream.close() }
        #expect(try await stream.readUntil { SSEParser($0.body).dataEvents.count >= 1 })
    }

    @Test func otherOptionsFromTheEnvironment() async throws {
        let node = try await HeraldProcess.start(environment: [
            "HERALD_MAX_MESSAGE_SIZE": "10", "HERALD_PUBLIC_PUBLISHER": "true",
        ])
        defer { node.stop() }
        #expect(try await node.admin("POST", "/pub?id=e", body: Array("01234567890".utf8)).status == 413)
        #expect(try await node.request("POST", "/pub?id=e", body: Array("short".utf8)).status == 200)
        // The command line wins over the environment.
        let overridden = try await HeraldProcess.start(
            ["--max-message-size", "1k"], environment: ["HERALD_MAX_MESSAGE_SIZE": "10"])
        defer { overridden.stop() }
        #expect(try await overridden.admin("POST", "/pub?id=e", body: Array("01234567890".utf8)).status == 200)
    }

    @Test func portInUseExitsNonZeroWithOneLine() async throws {
        let (fd, busyPort) = try FreePort.occupy()
        defer { close(fd) }
        let adminPort = try FreePort.pick()
        let node = try HeraldProcess.launch([], port: busyPort, adminPort: adminPort)
        node.expectExit()
        defer { node.stop() }
        let status = try await Blocking.run { node.waitForExit(timeout: .seconds(30)) }
        #expect(status != nil && status != 0, "exit status \(String(describing: status))")
        let lines = node.stderr.split(separator: "\n").filter { !String($0).trimmingSpaces().isEmpty }
        #expect(lines.count == 1, "stderr:\n\(node.stderr)")
        #expect(node.stderr.lowercased().contains("address already in use"))
        #expect(!node.stderr.contains("Backtrace") && !node.stderr.contains("Fatal error"))
    }

    @Test func invalidOptionsAreRejectedAtStartup() async throws {
        let node = try HeraldProcess.launch(
            ["--message-template", "   "], port: try FreePort.pick(), adminPort: try FreePort.pick())
        node.expectExit()
        defer { node.stop() }
        let status = try await Blocking.run { node.waitForExit(timeout: .seconds(30)) }
        #expect(status != nil && status != 0)
        #expect(node.stderr.contains("blank"))
    }

    @Test func sigtermAnswersAWaitingLongPoll() async throws {
        let node = try await HeraldProcess.start(["--shutdown-grace", "8s"])
        defer { node.stop() }
        let port = node.port
        async let answer = RawHTTPClient.request(port: port, "GET", "/lp/waiting", timeout: .seconds(10))
        try #require(try await node.waitForSubscribers("waiting", count: 1))
        let started = ContinuousClock.now
        let status = try await node.terminate(timeout: .seconds(12))
        let response = try await answer
        #expect(response.status == 304)
        #expect(status == 0)
        #expect(ContinuousClock.now - started < .seconds(4))
    }

    @Test func healthzAnswersOk() async throws {
        let node = try await HeraldProcess.start()
        defer { node.stop() }
        let response = try await node.admin("GET", "/healthz")
        #expect(response.status == 200)
        #expect(response.text == "ok\n")
        #expect(try await node.request("GET", "/healthz").status == 404)
        #expect(try await node.admin("GET", "/sub/ch").status == 404)
    }
}
