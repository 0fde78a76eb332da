import Foundation
import HeraldCore
import HeraldTesting
import Testing

/// No Docker engine runs here, so the files are checked for what would break a `docker compose up`:
/// files that do not exist, ports that do not match, an nginx.conf that is not the generator's.
@Suite struct DockerFilesTests {
    static func read(_ path: String) throws -> String {
        try String(contentsOf: Repository.file(path), encoding: .utf8)
    }

    /// `KEY: value` entries of the compose file (values unquoted), in order.
    static func composeValues(_ key: String, in compose: String) -> [String] {
        compose.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix(key + ":") else { return nil }
            return trimmed.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
    }

    @Test func nginxConfIsTheGeneratorsOutputForTheComposeNodes() throws {
        let compose = try Self.read("docker/docker-compose.yml")
        let advertised = Self.composeValues("HERALD_ADVERTISE", in: compose)
        #expect(advertised == ["node1:9080", "node2:9080", "node3:9080"])
        var config = NginxConfig(nodes: advertised.map { HashRing.Node($0) })
        config.listen = "80"
        config.publishAllow = ["127.0.0.1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
        #expect(try Self.read("docker/nginx.conf") == config.render())
    }

    @Test func composePortsAndFilesMatch() throws {
        let compose = try Self.read("docker/docker-compose.yml")
        let port = try #require(Self.composeValues("HERALD_PORT", in: compose).first)
        for advertise in Self.composeValues("HERALD_ADVERTISE", in: compose) {
            #expect(advertise.hasSuffix(":" + port))
        }
        #expect(compose.contains("ports: [\"9080:80\"]"))
        #expect(compose.contains("./nginx.conf:/etc/nginx/conf.d/default.conf:ro"))
        #expect(compose.contains("dockerfile: docker/Dockerfile"))
        #expect(FileManager.default.fileExists(atPath: Repository.file("docker/Dockerfile").path))
        #expect(Self.composeValues("HERALD_REDIS", in: compose) == ["redis://redis:6379"])
        #expect(compose.contains("\n  redis:\n"))
    }

    @Test func dockerfileCopiesWhatExistsAndExposesTheListeners() throws {
        let dockerfile = try Self.read("docker/Dockerfile")
        let copies = dockerfile.split(separator: "\n").filter { $0.hasPrefix("COPY ") && !$0.contains("--from") }
        #expect(!copies.isEmpty)
        for copy in copies {
            let source = String(copy.split(separator: " ")[1])
            #expect(FileManager.default.fileExists(atPath: Repository.file(source).path), "\(source)")
        }
        let compose = try Self.read("docker/docker-compose.yml")
        let ports =
            Self.composeValues("HERALD_PORT", in: compose) + Self.composeValues("HERALD_ADMIN_PORT", in: compose)
        #expect(dockerfile.contains("EXPOSE " + ports.joined(separator: " ")))
        #expect(dockerfile.contains("libhiredis-dev") && dockerfile.contains("libhiredis0.14"))
        #expect(dockerfile.contains("--product herald"))
    }

    @Test func composeRequiresThePublisherKey() throws {
        let compose = try Self.read("docker/docker-compose.yml")
        let keys = Self.composeValues("HERALD_PUBLISHER_KEY", in: compose)
        #expect(keys.count == 1)
        #expect(keys.first?.hasPrefix("${HERALD_PUBLISHER_KEY:?") == true, "compose must refuse to start without it")
    }

    /// The entry point keeps the admin listener on loopback unless an admin key protects it.
    @Test func theImageKeepsTheAdminListenerInsideWithoutAKey() throws {
        let stubs = FileManager.default.temporaryDirectory.appendingPathComponent("herald-entrypoint-\(UUID())")
        try FileManager.default.createDirectory(at: stubs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: stubs) }
        let stub = stubs.appendingPathComponent("herald")
        try "#!/bin/sh\necho \"$HERALD_ADMIN_HOST $*\"\n".write(to: stub, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: stub.path)
        func run(_ environment: [String: String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = [Repository.file("docker/entrypoint.sh").path, "serve", "--threads", "1"]
            process.environment = environment.merging(["PATH": "\(stubs.path):/usr/bin:/bin"]) { $1 }
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        #expect(try run([:]) == "127.0.0.1 serve --threads 1\n")
        #expect(try run(["HERALD_ADMIN_HOST": "0.0.0.0"]) == "127.0.0.1 serve --threads 1\n")
        #expect(try run(["HERALD_ADMIN_KEY": "k"]) == "0.0.0.0 serve --threads 1\n")
        #expect(try run(["HERALD_ADMIN_KEY": "k", "HERALD_ADMIN_HOST": "10.0.0.5"]) == "10.0.0.5 serve --threads 1\n")
    }
}
