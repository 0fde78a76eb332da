import Foundation

/// `Tests/tools/pubsub_stall_proxy.py` for one test: a TCP proxy in front of a Redis that, on
/// ``stall()``, stops forwarding pub/sub messages while passing pings and replies, until
/// ``resume()``. Stopped by pid.
public final class PubSubStallProxy: @unchecked Sendable {
    public let port: UInt16
    private let process: Process
    private let input: FileHandle
    private let output: FileHandle

    private init(port: UInt16, process: Process, input: FileHandle, output: FileHandle) {
        self.port = port
        self.process = process
        self.input = input
        self.output = output
    }

    /// `redis://127.0.0.1:<port>`: give this to the node instead of Redis's own address.
    public var url: String { "redis://127.0.0.1:\(port)" }

    public static func start(in redis: RedisServerProcess) async throws -> PubSubStallProxy {
        try await Blocking.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let script = Repository.root.appendingPathComponent("Tests/tools/pubsub_stall_proxy.py").path
            process.arguments = ["python3", script, String(redis.port)]
            let stdin = Pipe()
            let stdout = Pipe()
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = FileHandle.nullDevice
            try process.run()
            guard let line = Self.readLine(stdout.fileHandleForReading), let port = UInt16(line) else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw HarnessError("the stall proxy did not start")
            }
            return PubSubStallProxy(
                port: port, process: process, input: stdin.fileHandleForWriting, output: stdout.fileHandleForReading)
        }
    }

    /// Stops forwarding pub/sub messages on every connection, open or new.
    public func stall() async throws { try await send("stall") }

    /// Forwards everything again.
    public func resume() async throws { try await send("resume") }

    private func send(_ command: String) async throws {
        try await Blocking.run {
            self.input.write(Data("\(command)\n".utf8))
            guard Self.readLine(self.output) == "ok \(command)" else {
                throw HarnessError("the stall proxy did not \(command)")
            }
        }
    }

    /// One line of the proxy's output, without its newline; nil at its end.
    private static func readLine(_ output: FileHandle) -> String? {
        var line = Data()
        while true {
            let byte = output.readData(ofLength: 1)
            if byte.isEmpty { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte == Data("\n".utf8) { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}
