import Foundation
import HeraldTesting
import Testing

/// Herald nodes on a real Redis Cluster (`--redis-cluster`): messages of channels on every shard
/// reach subscribers on another node exactly once and in order, carried by sharded pub/sub only;
/// backlogs, resume, channel info, listing, totals, delete and the channel limit work as on one
/// Redis.
@Suite(.serialized, .timeLimit(.minutes(2))) struct RedisClusterNodeTests {
    /// Nodes A, B… on `cluster`, with `arguments`.
    static func nodes(
        _ count: Int, on cluster: RedisClusterProcess, _ arguments: [String] = []
    ) async throws -> [HeraldProcess] {
        var nodes: [HeraldProcess] = []
        do {
            for index in 0..<count {
                let name = String(UnicodeScalar(UInt8(ascii: "A") + UInt8(index)))
                nodes.append(
                    try await HeraldProcess.start(
                        ["--redis-cluster", cluster.seeds.joined(separator: ","), "--node-id", name] + arguments))
            }
        } catch {
            for node in nodes { node.stop() }
            throw error
        }
        return nodes
    }

    /// A node's log without its request lines, for failure messages.
    static func redisLines(_ log: String) -> String {
        log.split(whereSeparator: \.isNewline).filter { !$0.contains("admin request") }.suffix(30)
            .joined(separator: "\n")
    }

    /// `INFO commandstats` of each master: how many times it ran `command` (0 if never).
    static func calls(_ command: String, on cluster: RedisClusterProcess) async throws -> [Int] {
        var counts: [Int] = []
        for server in cluster.servers.prefix(cluster.masters) {
            let info = try await server.command("INFO", "commandstats").string ?? ""
            let head = "cmdstat_\(command):calls="
            let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(head) }
            let calls = line.flatMap { $0.dropFirst(head.count).split(separator: ",").first }
            counts.append(calls.flatMap { Int($0) } ?? 0)
        }
        return counts
    }

    @Test func messagesOfEveryShardReachTheOtherNodeOnceInOrderBySharedPubSubOnly() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let nodes = try await Self.nodes(2, on: cluster, ["--delivery-probe-interval", "200ms"])
        defer { for node in nodes { node.stop() } }
        let (a, b) = (nodes[0], nodes[1])
        let channels = (0..<12).map { "room\($0)" }
        let stream = try await HTTPStream.connect(port: a.port, "/ev/" + channels.joined(separator: "/"))
        defer { stream.close() }
        for channel in channels { try #require(try await a.waitForSubscribers(channel, count: 1)) }

        for round in 1...5 {
            for channel in channels { try await b.publish(channel, "\(channel) m\(round)") }
        }
        let received = try await Received.events(stream, count: 60)
        for channel in channels {
            let mine = received.filter { $0.message.channel == channel }.map(\.message)
            #expect(mine.map(\.text) == (1...5).map { "\(channel) m\($0)" }, "\(channel): \(mine)")
            #expect(mine.map(\.id) == Array(1...5))
        }
        #expect(received.count == 60, "\(received.count) events")

        // Sharded pub/sub only (the probes use it too), each channel on its own shard: the
        // channels spread over all three.
        #expect(try await Self.calls("publish", on: cluster) == [0, 0, 0])
        let sharded = try await Self.calls("spublish", on: cluster)
        #expect(sharded.reduce(0, +) >= 60, "\(sharded)")
        var spread: [Int] = []
        for server in cluster.servers.prefix(cluster.masters) {
            spread.append(try await server.command("KEYS", "herald:{room*}:meta").array?.count ?? 0)
        }
        #expect(spread.allSatisfy { $0 > 0 } && spread.reduce(0, +) == 12, "\(spread)")

        // A subscriber on B resumes from the cursor of message 3 of room0: exactly the rest.
        let cursor = try #require(received.first { $0.message.channel == "room0" && $0.message.id == 3 }?.id)
        let resumed = try await HTTPStream.connect(port: b.port, "/ev/room0", headers: [("Last-Event-ID", cursor)])
        defer { resumed.close() }
        #expect(try await Received.events(resumed, count: 2).map(\.message.text) == ["room0 m4", "room0 m5"])

        // Channel info, the listing and the totals are cluster-wide (the listing within a beat).
        let info = try #require(try await b.channelInfo("room7"))
        #expect(JSON.int(info["published_messages"]) == 5 && JSON.int(info["stored_messages"]) == 5)
        #expect(JSON.int(info["subscribers"]) == 1, "\(info)")
        var listed: [String: Any] = [:]
        for _ in 0..<60 {
            listed = try await a.statsJSON("ALL")
            if JSON.int(listed["channels"]) == 12 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(JSON.int(listed["channels"]) == 12, "\(listed)")
        #expect((listed["infos"] as? [Any])?.count == 12, "\(listed)")

        // A delete on B ends A's subscriber of that channel with the notice.
        #expect(try await b.admin("DELETE", "/pub?id=room5").status == 200)
        _ = try await stream.readUntil(timeout: .seconds(5)) { $0.text.contains("Channel deleted") }
        #expect(stream.text.contains("\"channel\":\"room5\""), "\(stream.text.suffix(300))")
        #expect(try await b.channelInfo("room5") == nil)

        // Probes went through every shard all along (a few hundred of them), none late.
        for node in nodes {
            #expect(try await node.metrics().total("herald_delivery_probe_failures_total") == 0)
            #expect(try await node.admin("GET", "/readyz").status == 200)
        }
    }

    @Test func theChannelLimitHoldsAcrossTheClusterWithinABeat() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let nodes = try await Self.nodes(2, on: cluster, ["--max-number-of-channels", "5"])
        defer { for node in nodes { node.stop() } }
        for index in 0..<5 { try await nodes[index % 2].publish("full\(index)", "x") }
        // The nodes count the live channels once a second.
        var refused = false
        for attempt in 0..<40 where !refused {
            try await Task.sleep(for: .milliseconds(100))
            let answer = try await nodes[1].admin("POST", "/pub?id=more\(attempt)", body: Array("y".utf8))
            refused = answer.status == 403
            #expect(answer.status == 403 || answer.status == 200, "\(answer)")
        }
        #expect(refused, "a sixth channel was never refused")
        // The other node has counted too within a beat.
        try await Task.sleep(for: .milliseconds(1_200))
        // Channels that exist still take messages; a subscriber cannot make a new one either.
        #expect(try await nodes[0].admin("POST", "/pub?id=full1", body: Array("z".utf8)).status == 200)
        let subscriber = try await nodes[0].get("/lp/another", timeout: .seconds(3))
        #expect(subscriber.status == 403, "\(subscriber)")
    }

    /// A master is killed (-9) mid-stream and its replica promoted: the nodes follow the new slot
    /// map, subscribe on the new master and repair from the backlogs. Every acknowledged message
    /// reaches the subscriber exactly once and in order, unless its channel got the -4 notice for
    /// what Redis lost before it replicated; the killed shard's channels keep getting messages.
    @Test(.timeLimit(.minutes(2))) func aMasterFailoverLosesNothingSilently() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3, replicas: 1)
        defer { cluster.stop() }
        let nodes = try await Self.nodes(2, on: cluster)
        defer { for node in nodes { node.stop() } }
        let (a, b) = (nodes[0], nodes[1])
        let channels = (0..<9).map { "fail\($0)" }
        let stream = try await HTTPStream.connect(port: a.port, "/ev/" + channels.joined(separator: "/"))
        defer { stream.close() }
        for channel in channels { try #require(try await a.waitForSubscribers(channel, count: 1)) }

        let victim = cluster.servers[0]
        let killedAt = ContinuousClock.now + .seconds(1)
        // Per channel, each acknowledged message and whether the cluster had answered a publish
        // again (after the kill) a second before it: those must all arrive, notice or not.
        var acknowledged: [String: [(text: String, afterRecovery: Bool)]] = [:]
        var recoveredAt: ContinuousClock.Instant?
        var statuses: [Int: Int] = [:]
        var killed = false
        var index = 0
        let end = killedAt + .seconds(12)
        while ContinuousClock.now < end {
            if !killed && ContinuousClock.now >= killedAt {
                victim.signal(SIGKILL)
                killed = true
            }
            let channel = channels[index % channels.count]
            let text = "\(channel) #\(index)"
            index += 1
            let answer = try? await b.admin("POST", "/pub?id=\(channel)", body: Array(text.utf8))
            statuses[answer?.status ?? 0, default: 0] += 1
            if answer?.status == 200 {
                if killed && recoveredAt == nil && (statuses[503] ?? 0) > 0 { recoveredAt = .now }
                let settled = recoveredAt.map { ContinuousClock.now > $0 + .seconds(1) } ?? false
                acknowledged[channel, default: []].append((text, settled))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let failoverLog = cluster.logs.split(whereSeparator: \.isNewline)
            .filter { $0.contains("ailover") || $0.hasPrefix("---") }.joined(separator: "\n")
        for channel in channels {
            let recovered = acknowledged[channel]?.contains { $0.afterRecovery } == true
            let context = "\(statuses)\n\(Self.redisLines(b.output))\n\(failoverLog)"
            try #require(recovered, "\(channel): publishing did not recover after the failover: \(context)")
        }
        let total = acknowledged.values.reduce(0) { $0 + $1.count }
        _ = try await stream.readUntil(timeout: .seconds(15)) { _ in
            ((try? Received.events(stream))?.filter { $0.message.id > 0 }.count ?? 0) >= total
        }
        try await stream.drain(for: .milliseconds(500))
        let events = try Received.events(stream).map(\.message)
        for channel in channels {
            let mine = events.filter { $0.channel == channel }
            let texts = mine.filter { $0.id > 0 }.map(\.text)
            let received = Set(texts)
            let expected = acknowledged[channel] ?? []
            let known = Set(expected.map(\.text))
            #expect(received.count == texts.count, "\(channel): duplicates in \(texts)")
            #expect(texts.allSatisfy(known.contains), "\(channel): messages nobody acknowledged")
            #expect(texts == expected.map(\.text).filter(received.contains), "\(channel): out of order")
            let late = expected.filter { $0.afterRecovery && !received.contains($0.text) }
            #expect(late.isEmpty, "\(channel): lost after the failover \(late.map(\.text))")
            let lost = expected.filter { !received.contains($0.text) }.map(\.text)
            #expect(lost.isEmpty || mine.contains { $0.id == -4 }, "\(channel): lost silently \(lost)")
        }
    }

    /// A master takes two publishes its replica never gets (the replica is frozen and its link cut
    /// just before), the node delivers them, and the master is killed: the promoted replica lacks
    /// them. The node that delivered them fences the channel, so its subscriber goes on with the
    /// next message under the next id, without a repeat or a notice, and a resume from before the
    /// lost messages gets the notice.
    @Test(.timeLimit(.minutes(2))) func messagesAMasterLostBeforeReplicatingAreFencedAfterItsFailover() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3, replicas: 1)
        defer { cluster.stop() }
        let nodes = try await Self.nodes(2, on: cluster)
        defer { for node in nodes { node.stop() } }
        let (a, b) = (nodes[0], nodes[1])
        let victim = cluster.servers[0]
        var replica: RedisServerProcess?
        for server in cluster.servers where server.port != victim.port {
            let role = try await server.command("ROLE").array ?? []
            if role.count > 2, role[0].string == "slave", role[2].integer == Int(victim.port) { replica = server }
        }
        let standby = try #require(replica, "no replica of the first master")
        var found: String?
        for index in 0..<500 where found == nil {
            let candidate = "unreplicated\(index)"
            if case .error = try await victim.command("HLEN", "herald:{\(candidate)}:meta") { continue }
            found = candidate
        }
        let channel = try #require(found)
        let meta = "herald:{\(channel)}:meta"
        let events = try await HTTPStream.connect(port: a.port, "/ev/\(channel)")
        defer { events.close() }
        try #require(try await a.waitForSubscribers(channel, count: 1))
        try await b.publishAll(channel, ["m1", "m2", "m3"])
        let seen = try await Received.events(events, count: 3, settle: .zero)
        try #require(seen.count == 3)
        let replicated = try await Blocking.run {
            let client = try RedisTestClient(port: standby.port)
            defer { client.close() }
            _ = try client.command(["READONLY"])
            for _ in 0..<100 {
                if try client.command(["HGET", meta, "last_id"]).string == "3" { return true }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return false
        }
        try #require(replicated, "the replica never got the first three")

        standby.pause()
        _ = try await victim.command("CLIENT", "KILL", "TYPE", "replica")
        try await b.publishAll(channel, ["m4", "m5"])
        #expect(try await Received.events(events, count: 5, settle: .zero).count == 5)
        victim.signal(SIGKILL)
        standby.resume()

        var fence: String?
        for _ in 0..<300 where fence == nil {
            fence = try? await standby.command("HGET", meta, "fence").string
            if fence == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        try #require(
            fence?.hasPrefix("5 ") == true, "no fence at 5: \(String(describing: fence))\n\(Self.redisLines(a.output))")
        var published = false
        for _ in 0..<100 where !published {
            published = (try? await b.admin("POST", "/pub?id=\(channel)", body: Array("m6".utf8)))?.status == 200
            if !published { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(published)

        let live = try await Received.events(events, count: 6)
        #expect(live.map(\.message.text) == (1...6).map { "m\($0)" }, "\(live)")
        #expect(live.map(\.message.id) == Array(1...6))
        let resumed = try await HTTPStream.connect(
            port: b.port, "/ev/\(channel)", headers: [("Last-Event-ID", try #require(seen[2].id))])
        defer { resumed.close() }
        #expect(try await Received.events(resumed, count: 2).map(\.message.text) == ["Messages missed", "m6"])
    }

    /// A resharding moves a hosted channel's slot to another master, and the old one unsubscribes
    /// the node from it by itself: the node follows at once (not at its next read of the slot map),
    /// without dropping its connection, so a message published right after the move reaches its
    /// subscriber within a couple of seconds, from the new master.
    @Test func aChannelWhoseSlotMovesIsFollowedAtOnce() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let nodes = try await Self.nodes(2, on: cluster)
        defer { for node in nodes { node.stop() } }
        let (a, b) = (nodes[0], nodes[1])
        let channel = "resharded"
        let key = "herald:{\(channel)}:meta"
        let slot = try #require(try await cluster.servers[0].command("CLUSTER", "KEYSLOT", key).integer)
        var source: RedisServerProcess?
        for server in cluster.servers {
            if case .error = try await server.command("HLEN", key) { continue }
            source = server
        }
        let from = try #require(source)
        let to = try #require(cluster.servers.first { $0.port != from.port })
        let fromID = try #require(try await from.command("CLUSTER", "MYID").string)
        let toID = try #require(try await to.command("CLUSTER", "MYID").string)

        let events = try await HTTPStream.connect(port: a.port, "/ev/\(channel)")
        defer { events.close() }
        try #require(try await a.waitForSubscribers(channel, count: 1))
        try await b.publish(channel, "before the move")
        #expect(try await Received.events(events, count: 1, settle: .zero).count == 1)

        // The documented manual move of one slot, keys included.
        _ = try await to.command("CLUSTER", "SETSLOT", String(slot), "IMPORTING", fromID)
        _ = try await from.command("CLUSTER", "SETSLOT", String(slot), "MIGRATING", toID)
        let keys = try await from.command("CLUSTER", "GETKEYSINSLOT", String(slot), "100").array ?? []
        if !keys.isEmpty {
            let migrate =
                ["MIGRATE", "127.0.0.1", String(to.port), "", "0", "5000", "KEYS"] + keys.compactMap(\.string)
            _ = try await Blocking.run {
                let client = try RedisTestClient(port: from.port)
                defer { client.close() }
                return try client.command(migrate)
            }
        }
        for server in [to, from] + cluster.servers.filter({ $0.port != to.port && $0.port != from.port }) {
            _ = try await server.command("CLUSTER", "SETSLOT", String(slot), "NODE", toID)
        }
        try await b.publish(channel, "after the move")
        let received = try await Received.events(events, count: 2, timeout: .seconds(3))
        #expect(received.map(\.message.text) == ["before the move", "after the move"], "\(Self.redisLines(a.output))")
        // Followed without dropping the pub/sub connection (and resubscribing where the slot is gone).
        #expect(!a.output.contains("redis protocol error"), "\(Self.redisLines(a.output))")
    }
}
