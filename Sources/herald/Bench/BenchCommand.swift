import ArgumentParser
import Foundation
import HeraldPublisher
import HeraldRedis
import Histogram
import Logging
import NIOCore
import NIOPosix

extension BenchTransport: ExpressibleByArgument {}

/// `herald bench`: subscribers on one side, publishes on the other, and the figures that matter:
/// deliveries per second, completeness, latency, server CPU per delivery, memory per subscriber.
///
/// The URLs are templates, so the same run measures any push server of the same shape. Every loop
/// is bounded in count and in time.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a push server: fan-out, latency, CPU per delivery, memory per subscriber.",
        discussion: """
            Opens --subscribers connections over --transport on --channels channels (subscriber i joins \
            channel i mod C), then publishes --messages messages (message k goes to channel k mod C). A run \
            in which any subscriber misses a message, gets one twice or out of order fails (exit 1). \
            --server-pid (repeatable) adds server CPU and RSS figures. With --ring-nodes, each subscriber \
            connects to the node owning its channel on the consistent-hash ring ({node} in --subscribe-url).

            Example:
              herald bench --transport ws --subscribers 1000 --messages 200 \\
                --subscribe-url 'ws://127.0.0.1:9080/ws/{channel}' \\
                --publish-url 'http://127.0.0.1:9081/pub?id={channel}'
            """
    )

    @Option(help: "sse, ws or lp.") var transport: BenchTransport = .sse
    @Option(help: "Subscriber connections.") var subscribers = 100
    @Option(help: "Channels the subscribers spread over.") var channels = 1
    @Option(help: "Messages to publish (spread over the channels).") var messages = 100
    @Option(help: "Publishes per second (0: as fast as possible).") var rate = 0
    @Option(help: "Message size in bytes.") var messageSize = 64
    @Option(help: "Subscribe URL template (default per transport: /ev, /ws or /lp on 127.0.0.1:9080).")
    var subscribeUrl: String?
    @Option(help: "Publish URL template.") var publishUrl = "http://127.0.0.1:9081/pub?id={channel}"
    @Option(help: "Publish body template: {message} is the message, {channel} its channel (default: the message).")
    var publishBody: String?
    @Option(help: "Keep-alive publisher connections (a channel always uses the same one).")
    var publishConnections = 16
    @Option(help: "Pipelined publish requests in flight per connection (with --redis: batches of 64 in flight).")
    var publishPipeline = 8
    @Option(help: "Publish through the Herald publisher library into this Redis instead of HTTP.") var redis: String?
    @Option(help: "Publish through the publisher library into this Redis Cluster (seed URLs, comma-separated).")
    var redisCluster: String?
    @Option(help: "Client source addresses: a list (127.0.0.1,127.0.0.2) or a range (127.0.0.1-127.0.0.8).")
    var sourceAddresses = "127.0.0.1"
    @Option(help: "Server process to measure (repeatable).") var serverPid: [Int32] = []
    @Option(help: "Channel names are this prefix and a number.") var channelPrefix = "bench"
    @Flag(help: "Only connect, hold and measure memory per idle subscriber.") var idle = false
    @Option(help: "Seconds to hold idle subscribers before measuring.") var hold = 3
    @Option(help: "Seconds to wait for deliveries after the last publish.") var timeout = 60
    @Option(help: "Connections opened at once.") var connectConcurrency = 200
    @Flag(
        help: """
            Open the next --connect-concurrency connections only once the last ones are answered (for servers \
            that fail subscribers when many requests are pending, such as Pushpin).
            """)
    var awaitAnswers = false
    @Option(help: "Write the result as JSON to this file.") var json: String?
    @Option(help: "Client event-loop threads.") var threads = System.coreCount
    @Option(
        help: """
            With --idle: sample the server RSS after every N connected subscribers (each sample waits until \
            they are all answered, then 500 ms) and report the curve (0: off).
            """)
    var rssEvery = 0
    @Option(help: "With --idle: create this file once every subscriber is connected and measured.")
    var readyFile: String?
    @Option(help: "With --idle: hold until this file exists (at most --hold seconds) instead of --hold seconds.")
    var releaseFile: String?
    @Option(
        help: """
            Route each channel to its owner on this consistent-hash ring (nodes as for `herald ring`); \
            the subscribe URL's {node} becomes the owner, e.g. http://{node}/ev/{channel}.
            """)
    var ringNodes: String?

    func validate() throws {
        guard subscribers > 0, channels > 0, channels <= subscribers || idle else {
            throw ValidationError("Need at least one subscriber per channel.")
        }
        guard messages >= 0, messageSize >= 32, rate >= 0, publishConnections > 0, timeout > 0 else {
            throw ValidationError("Counts must be positive (message size at least 32 bytes).")
        }
        guard subscribers <= 200_000, messages <= 10_000_000 else { throw ValidationError("Too large a run.") }
        guard connectConcurrency > 0, hold >= 0 else {
            throw ValidationError("--connect-concurrency must be positive, --hold not negative.")
        }
        guard rssEvery >= 0, rssEvery == 0 || (idle && !serverPid.isEmpty) else {
            throw ValidationError("--rss-every needs --idle and --server-pid.")
        }
        guard rssEvery == 0 || subscribers / rssEvery <= 1000 else {
            throw ValidationError("--rss-every would take more than 1,000 samples.")
        }
        guard idle || (readyFile == nil && releaseFile == nil) else {
            throw ValidationError("--ready-file and --release-file go with --idle.")
        }
    }

    func run() async throws {
        let sources = try Self.parseSources(sourceAddresses)
        let routing = try BenchRouting(
            template: subscribeUrl ?? defaultSubscribeURL, ringNodes: ringNodes, channels: channelNames)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        do {
            try await measure(sources: sources, routing: routing, group: group)
            try? await group.shutdownGracefully()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func measure(
        sources: [SocketAddress], routing: BenchRouting, group: MultiThreadedEventLoopGroup
    )
        async throws
    {
        let loops = Array(group.makeIterator())
        let tallies = try loops.map { loop in try loop.submit { NIOLoopBound(BenchLoopTally(), eventLoop: loop) }.wait()
        }
        let channelNames = self.channelNames
        let perChannel = (0..<channels).map { c in messages / channels + (c < messages % channels ? 1 : 0) }
        let expectedTotal = (0..<subscribers).reduce(0) { $0 + perChannel[$1 % channels] }

        let baseline = ProcessSample.read(serverPid)
        let machineBaseline = MachineCPU.busySeconds()
        log("connecting \(subscribers) \(transport.rawValue) subscribers on \(channels) channel(s)")
        if routing.urls.count > 1 {
            let split = routing.split(subscribers: subscribers, channels: channels)
            let parts = zip(routing.urls, split).map { url, count in "\(url.host):\(url.port) \(count)" }
            log("by the ring: \(parts.joined(separator: ", "))")
        }
        var curve: [RSSPoint] = []
        if rssEvery > 0, let baseline { curve.append(RSSPoint(subscribers: 0, rssBytes: baseline.rssBytes)) }
        var connections: [any Channel] = []
        defer { for connection in connections { connection.close(promise: nil) } }
        // Batches of --connect-concurrency; with --rss-every a batch also ends at the next sample.
        var nextSample = rssEvery > 0 ? rssEvery : Int.max
        var start = 0
        while start < subscribers {
            let end = min(start + connectConcurrency, subscribers, nextSample)
            let batch = (start..<end).map { i in
                let loop = loops[i % loops.count]
                let tally = tallies[i % loops.count]
                let subscribeURL = routing.url(channel: i % channels)
                let handler = (subscribeURL.host, subscribeURL.path(channel: channelNames[i % channels]))
                let expected = perChannel[i % channels]
                let transport = self.transport
                return ClientBootstrap(group: loop)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(to: sources[i % sources.count])
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                BenchSubscriber(
                                    transport: transport, host: handler.0, path: handler.1, expected: expected,
                                    tally: tally.value))
                        }
                    }
                    .connect(host: subscribeURL.host, port: subscribeURL.port)
            }
            for future in batch { connections.append(try await future.get()) }
            if awaitAnswers {
                let deadline = NIODeadline.now() + .seconds(60)
                while try await sum(tallies, loops, { $0.ready }) < end {
                    guard NIODeadline.now() < deadline else { throw BenchError(message: "subscribers not answered") }
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
            start = end
            if start == nextSample {
                if start < subscribers { curve.append(try await sampleRSS(connected: start, tallies, loops)) }
                nextSample += rssEvery
            }
        }
        try await waitUntil(deadline: .seconds(60), what: "subscribers ready") {
            let ready = try await sum(tallies, loops) { $0.ready }
            return (ready >= subscribers, "\(ready)/\(subscribers)")
        }
        // Let the server finish registering the last subscribers before the first publish.
        try await Task.sleep(for: .milliseconds(500))
        let connected = ProcessSample.read(serverPid)
        let machineConnected = MachineCPU.busySeconds()
        if idle {
            if rssEvery > 0, let connected {
                curve.append(RSSPoint(subscribers: subscribers, rssBytes: connected.rssBytes))
            }
            if let readyFile { try Data("\(subscribers)\n".utf8).write(to: URL(fileURLWithPath: readyFile)) }
            try await holdIdle()
            let held = ProcessSample.read(serverPid)
            var result = BenchResult(command: CommandLine.arguments.dropFirst().joined(separator: " "))
            result.subscribers = subscribers
            result.refusedSubscribers = try await sum(tallies, loops) { $0.refused }
            result.serverRSSBytes = held?.rssBytes
            if let baseline, let held {
                result.rssPerIdleSubscriberBytes = Double(held.rssBytes - baseline.rssBytes) / Double(subscribers)
            }
            // What connecting cost, the half second of settling after it included.
            if let baseline, let connected {
                result.serverCPUMicrosecondsPerConnect =
                    (connected.cpuSeconds - baseline.cpuSeconds) / Double(subscribers) * 1e6
            }
            if let machineBaseline, let machineConnected {
                result.machineCPUMicrosecondsPerConnect =
                    (machineConnected - machineBaseline) / Double(subscribers) * 1e6
            }
            if rssEvery > 0 {
                result.rssCurve = curve
                result.rssSlopeBytesPerSubscriber = RSSPoint.slope(curve)
            }
            try report(result)
            guard result.refusedSubscribers == 0 else { throw ExitCode.failure }
            return
        }

        log("publishing \(messages) messages\(rate > 0 ? " at \(rate)/s" : "")")
        let publishTally = BenchPublishTally()
        defer { publishTally.stop() }
        let started = NIODeadline.now()
        let before = ProcessSample.read(serverPid)
        let machineBefore = MachineCPU.busySeconds()
        let order = (0..<messages).map { k in
            BenchMessage(channel: channelNames[k % channels], sequence: k / channels + 1)
        }
        if redis != nil || redisCluster != nil {
            try await publishThroughLibrary(order, group: group, tally: publishTally)
        } else {
            try await publishOverHTTP(order, group: group, tally: publishTally)
        }
        // A server that stops answering still gets a result: what it answered and delivered, marked
        // incomplete, rather than none.
        var unanswered = 0
        do {
            try await waitUntil(deadline: .seconds(Int64(timeout)), what: "publishes answered") {
                (publishTally.done >= messages, "\(publishTally.done)/\(messages)")
            }
        } catch let error as BenchError {
            unanswered = messages - publishTally.done
            log("\(error.message): \(unanswered) of \(messages) publishes unanswered")
        }
        publishTally.stop()
        let published = NIODeadline.now()
        // Deliveries of unanswered publishes may never come: they are waited for less long.
        let deliveryWait = unanswered > 0 ? min(timeout, 10) : timeout
        _ = try? await waitUntil(deadline: .seconds(Int64(deliveryWait)), what: "deliveries") {
            let received = try await sum(tallies, loops) { $0.received }
            return (received >= expectedTotal, "\(received)/\(expectedTotal)")
        }
        let finished = NIODeadline.now()
        let after = ProcessSample.read(serverPid)
        let machineAfter = MachineCPU.busySeconds()

        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000_000)
        var received = 0
        var duplicates = 0
        var gaps = 0
        var complete = 0
        for (loop, tally) in zip(loops, tallies) {
            let snapshot = try await loop.submit {
                (
                    tally.value.latency, tally.value.received, tally.value.duplicates, tally.value.gaps,
                    tally.value.complete
                )
            }.get()
            latency.add(snapshot.0)
            received += snapshot.1
            duplicates += snapshot.2
            gaps += snapshot.3
            complete += snapshot.4
        }
        let seconds = Double((finished - started).nanoseconds) / 1e9
        var result = BenchResult(command: CommandLine.arguments.dropFirst().joined(separator: " "))
        result.subscribers = subscribers
        result.messages = messages
        result.expectedDeliveries = expectedTotal
        result.deliveries = received
        result.duplicates = duplicates
        result.gaps = gaps
        result.completeSubscribers = complete
        result.refusedSubscribers = try await sum(tallies, loops) { $0.refused }
        result.failedPublishes = publishTally.failed
        result.unansweredPublishes = unanswered
        result.seconds = seconds
        result.deliveriesPerSecond = Double(received) / seconds
        result.publishesPerSecond =
            Double(messages - unanswered) / (Double((published - started).nanoseconds) / 1e9)
        result.latencyMicroseconds = LatencyFigures(latency)
        result.publishLatencyMicroseconds = LatencyFigures(publishTally.latency)
        if let before, let after, received > 0 {
            result.serverCPUSeconds = after.cpuSeconds - before.cpuSeconds
            result.serverCPUMicrosecondsPerDelivery = (after.cpuSeconds - before.cpuSeconds) / Double(received) * 1e6
        }
        if let machineBefore, let machineAfter, received > 0 {
            result.machineCPUSeconds = machineAfter - machineBefore
            result.machineCPUMicrosecondsPerDelivery = (machineAfter - machineBefore) / Double(received) * 1e6
        }
        if let baseline, let connected {
            result.rssPerIdleSubscriberBytes = Double(connected.rssBytes - baseline.rssBytes) / Double(subscribers)
            result.serverRSSBytes = after?.rssBytes
        }
        try report(result)
        guard result.isComplete else { throw ExitCode.failure }
    }

    private var channelNames: [String] { (0..<channels).map { "\(channelPrefix)\($0)" } }

    /// The server RSS once the first `connected` subscribers have all been answered, and 500 ms more.
    private func sampleRSS(
        connected: Int, _ tallies: [NIOLoopBound<BenchLoopTally>], _ loops: [any EventLoop]
    ) async throws -> RSSPoint {
        try await waitUntil(deadline: .seconds(60), what: "subscribers ready") {
            let ready = try await sum(tallies, loops) { $0.ready }
            return (ready >= connected, "\(ready)/\(connected)")
        }
        try await Task.sleep(for: .milliseconds(500))
        guard let sample = ProcessSample.read(serverPid) else {
            throw BenchError(message: "cannot read /proc of the server pids (gone?)")
        }
        log("\(connected) subscribers: server RSS \(sample.rssBytes / 1024) KiB")
        return RSSPoint(subscribers: connected, rssBytes: sample.rssBytes)
    }

    /// Idle subscribers stay --hold seconds, or until --release-file exists (at most --hold seconds).
    private func holdIdle() async throws {
        guard let releaseFile else { return try await Task.sleep(for: .seconds(hold)) }
        log("holding \(subscribers) idle subscribers until \(releaseFile) exists (at most \(hold) s)")
        let end = NIODeadline.now() + .seconds(Int64(hold))
        while !FileManager.default.fileExists(atPath: releaseFile) {
            guard NIODeadline.now() < end else { return log("--hold passed before \(releaseFile) appeared") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private var defaultSubscribeURL: String {
        switch transport {
        case .sse: "http://127.0.0.1:9080/ev/{channel}"
        case .ws: "ws://127.0.0.1:9080/ws/{channel}"
        case .lp: "http://127.0.0.1:9080/lp/{channel}"
        }
    }

    // MARK: Publishing

    private func publishOverHTTP(
        _ order: [BenchMessage], group: any EventLoopGroup, tally: BenchPublishTally
    )
        async throws
    {
        let url = try BenchURL(publishUrl)
        var publishers: [NIOLoopBound<BenchPublisherConnection>] = []
        var loops: [any EventLoop] = []
        for _ in 0..<publishConnections {
            let loop = group.next()
            let body = try publishBody.map(BenchPublishBody.init)
            let handler = try await loop.flatSubmit { [url, messageSize, publishPipeline] in
                let publisher = BenchPublisherConnection(
                    url: url, body: body, size: messageSize, maxInFlight: publishPipeline, tally: tally, loop: loop)
                let bound = NIOLoopBound(publisher, eventLoop: loop)
                return publisher.connect().map { bound }
            }.get()
            publishers.append(handler)
            loops.append(loop)
        }
        var channelIndex: [String: Int] = [:]
        for message in order where channelIndex[message.channel] == nil {
            channelIndex[message.channel] = channelIndex.count
        }
        // Channels spread over the connections; with a rate, in 10 ms slices.
        let slice = rate > 0 ? max(1, rate / 100) : order.count
        var index = 0
        let start = NIODeadline.now()
        var tick: Int64 = 0
        while index < order.count {
            let end = min(order.count, index + slice)
            var perConnection = [[BenchMessage]](repeating: [], count: publishers.count)
            for message in order[index..<end] {
                // One connection per channel: pipelined answers keep the channel's order.
                perConnection[channelIndex[message.channel]! % publishers.count].append(message)
            }
            for (i, messages) in perConnection.enumerated() where !messages.isEmpty {
                let publisher = publishers[i]
                loops[i].execute { publisher.value.enqueue(messages) }
            }
            index = end
            if rate > 0 && index < order.count {
                tick += 1
                let due = start + .nanoseconds(tick * Int64(slice) * 1_000_000_000 / Int64(rate))
                let wait = due - .now()
                if wait > .zero { try await Task.sleep(for: .nanoseconds(wait.nanoseconds)) }
            }
        }
    }

    private func publishThroughLibrary(
        _ order: [BenchMessage], group: any EventLoopGroup, tally: BenchPublishTally
    ) async throws {
        let client: any RedisCommandService
        var settings = HeraldPublisher.Settings()
        let connections = RedisClient.Settings(scripts: HeraldPublisher.scripts)
        let logger = Logger(label: "bench")
        if let redisCluster {
            let seeds = try redisCluster.split(separator: ",").map { try RedisURL(String($0)) }
            client = RedisClusterClient(seeds: seeds, eventLoopGroup: group, settings: connections, logger: logger)
            settings.sharded = true
        } else {
            client = RedisClient(
                url: try RedisURL(redis ?? ""), eventLoopGroup: group, settings: connections, logger: logger)
        }
        try await client.start().get()
        defer { _ = client.shutdown() }
        let publisher = HeraldPublisher(redis: client, settings: settings)
        let batch = rate > 0 ? max(1, rate / 100) : 64
        let start = NIODeadline.now()
        var tick: Int64 = 0
        // --publish-pipeline batches in flight at once, as a busy application server would send them.
        var inFlight: [EventLoopFuture<Void>] = []
        for first in stride(from: 0, to: order.count, by: batch) {
            let slice = order[first..<min(first + batch, order.count)]
            let sent = NIODeadline.now().uptimeNanoseconds
            let outgoing = slice.map { message in
                HeraldPublisher.Outgoing(
                    channels: [message.channel],
                    text: BenchMarker.message(sequence: message.sequence, sentNanoseconds: sent, size: messageSize))
            }
            let count = slice.count
            inFlight.append(
                publisher.publish(batch: outgoing).map { _ in true }.recover { _ in false }.map { ok in
                    let elapsed = NIODeadline.now().uptimeNanoseconds - sent
                    for _ in 0..<count { tally.record(ok: ok, nanoseconds: elapsed) }
                })
            if inFlight.count >= max(1, publishPipeline) { try await inFlight.removeFirst().get() }
            if rate > 0 {
                tick += 1
                let due = start + .nanoseconds(tick * Int64(batch) * 1_000_000_000 / Int64(rate))
                let wait = due - .now()
                if wait > .zero { try await Task.sleep(for: .nanoseconds(wait.nanoseconds)) }
            }
        }
        for future in inFlight { try await future.get() }
    }

    // MARK: Helpers

    private func sum(
        _ tallies: [NIOLoopBound<BenchLoopTally>], _ loops: [any EventLoop],
        _ value: @escaping @Sendable (BenchLoopTally) -> Int
    ) async throws -> Int {
        var total = 0
        for (loop, tally) in zip(loops, tallies) { total += try await loop.submit { value(tally.value) }.get() }
        return total
    }

    /// Polls `condition` every 100 ms, printing progress each second, until it holds or the deadline passes.
    private func waitUntil(
        deadline: TimeAmount, what: String, _ condition: () async throws -> (done: Bool, progress: String)
    ) async throws {
        let end = NIODeadline.now() + deadline
        var lastProgress = NIODeadline.now()
        while NIODeadline.now() < end {
            let (done, progress) = try await condition()
            if done { return }
            if NIODeadline.now() - lastProgress > .seconds(1) {
                log("waiting for \(what): \(progress)")
                lastProgress = .now()
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError(message: "timed out waiting for \(what)")
    }

    private func report(_ result: BenchResult) throws {
        print(result.text)
        if let json { try result.json.write(toFile: json, atomically: true, encoding: .utf8) }
    }

    private func log(_ text: String) {
        FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
    }

    /// `127.0.0.1,127.0.0.2` or `127.0.0.1-127.0.0.8`.
    static func parseSources(_ text: String) throws -> [SocketAddress] {
        var addresses: [String] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "-")
            if parts.count == 2, let lastDot = parts[0].lastIndex(of: "."),
                let from = Int(parts[0][parts[0].index(after: lastDot)...]),
                let to = Int(parts[1].split(separator: ".").last ?? ""), from <= to
            {
                let base = parts[0][..<lastDot]
                addresses += (from...to).map { "\(base).\($0)" }
            } else {
                addresses.append(String(item))
            }
        }
        return try addresses.map { try SocketAddress(ipAddress: $0, port: 0) }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
