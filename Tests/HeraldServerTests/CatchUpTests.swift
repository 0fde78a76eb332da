import HeraldCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import HeraldServer

/// An engine whose backlog reads complete only when the test says so, so a test can publish
/// while a subscriber is between "registered" and "caught up".
final class GatedEngine: MessageEngine, @unchecked Sendable {
    let memory: MemoryEngine
    let loop: EmbeddedEventLoop
    private(set) var gates: [(channel: String, promise: EventLoopPromise<ChannelBacklog>)] = []

    init(loop: EmbeddedEventLoop, settings: NodeSettings) {
        self.loop = loop
        self.memory = MemoryEngine(configuration: .init(settings), clock: { 1_700_000_000_000_000 })
    }

    /// Completes every held backlog read with what the store holds now.
    func openGates() throws {
        let held = gates
        gates = []
        for gate in held { gate.promise.succeed(try memory.backlog(gate.channel, on: loop).wait()) }
        loop.run()
    }

    func backlog(_ channel: String, on loop: any EventLoop) -> EventLoopFuture<ChannelBacklog> {
        let promise = loop.makePromise(of: ChannelBacklog.self)
        gates.append((channel, promise))
        return promise.futureResult
    }

    func attach(_ sink: any MessageSink) { memory.attach(sink) }
    /// Publishes complete on a later turn of the loop, as a Redis round trip would.
    var deferPublishes = false

    /// Publishes wait in ``heldPublishes`` until ``releasePublish(_:)``, as slow Redis round trips would.
    var holdPublishes = false
    private(set) var heldPublishes: [(request: PublishRequest, promise: EventLoopPromise<[Publication]>)] = []

    /// Completes the held publish at `index` (in arrival order) and runs the loop.
    func releasePublish(_ index: Int) {
        let held = heldPublishes.remove(at: index)
        held.promise.completeWith(memory.publish(held.request, on: loop))
        loop.run()
    }

    func publish(_ r: PublishRequest, on l: any EventLoop) -> EventLoopFuture<[Publication]> {
        if holdPublishes {
            let promise = l.makePromise(of: [Publication].self)
            heldPublishes.append((r, promise))
            return promise.futureResult
        }
        guard deferPublishes else { return memory.publish(r, on: l) }
        let promise = l.makePromise(of: [Publication].self)
        l.execute { promise.completeWith(self.memory.publish(r, on: l)) }
        return promise.futureResult
    }
    func delete(_ c: [String], notice: [UInt8], on l: any EventLoop) -> EventLoopFuture<[String]> {
        memory.delete(c, notice: notice, on: l)
    }
    func records(_ c: [String], on l: any EventLoop) -> EventLoopFuture<[ChannelRecord?]> { memory.records(c, on: l) }
    func records(prefix: String, on l: any EventLoop) -> EventLoopFuture<[ChannelRecord]> {
        memory.records(prefix: prefix, on: l)
    }
    func create(_ c: [String], on l: any EventLoop) -> EventLoopFuture<Void> { memory.create(c, on: l) }
    /// When set, hosting completes only at ``openHosting()``, carrying the backlog read then, as
    /// the Redis engine's does.
    var hostingReads = false
    private(set) var hostGates: [(channel: String, promise: EventLoopPromise<ChannelBacklog?>)] = []

    /// Completes every held hosting with what the store holds now.
    func openHosting() throws {
        let held = hostGates
        hostGates = []
        for gate in held { gate.promise.succeed(try memory.backlog(gate.channel, on: loop).wait()) }
        loop.run()
    }

    func host(_ c: String, on l: any EventLoop) -> EventLoopFuture<ChannelBacklog?> {
        guard hostingReads else { return memory.host(c, on: l) }
        _ = memory.host(c, on: l)
        let promise = l.makePromise(of: ChannelBacklog?.self)
        hostGates.append((c, promise))
        return promise.futureResult
    }
    func release(_ c: String) { memory.release(c) }
    func totals(on l: any EventLoop) -> EventLoopFuture<EngineTotals> { memory.totals(on: l) }
    func touch(_ c: [String]) { memory.touch(c) }
    func recordSubscriberEvent(_ t: String, channel: String, user: String?) {
        memory.recordSubscriberEvent(t, channel: channel, user: user)
    }
    func presence(channel: String, on l: any EventLoop) -> EventLoopFuture<[String: Int]> {
        memory.presence(channel: channel, on: l)
    }
    func presence(user: String, on l: any EventLoop) -> EventLoopFuture<Int> { memory.presence(user: user, on: l) }
    func start(on loop: any EventLoop) {}
    func shutdown(on loop: any EventLoop) -> EventLoopFuture<Void> { loop.makeSucceededVoidFuture() }
}

/// The delivery invariant "subscribe, then catch up": messages published while a subscriber's
/// backlog read is in flight arrive exactly once, in order, after the stored ones.
@Suite struct CatchUpTests {
    private func makeNode(_ settings: NodeSettings = NodeSettings()) -> (EmbeddedEventLoop, GatedEngine, NodeContext) {
        let loop = EmbeddedEventLoop()
        let engine = GatedEngine(loop: loop, settings: settings)
        let registry = SubscriberRegistry(group: loop, engine: engine, settings: settings)
        engine.attach(registry)
        let context = NodeContext(settings: settings, engine: engine, registry: registry, logger: Logger(label: "t"))
        return (loop, engine, context)
    }

    private func publish(_ engine: GatedEngine, _ channel: String, _ text: String) throws {
        _ = try engine.publish(
            PublishRequest(channels: [channel], text: Array(text.utf8), store: true), on: engine.loop
        )
        .wait()
        engine.loop.run()
    }

    /// The message ids in a websocket byte stream of JSON-template text frames.
    private func ids(in bytes: [UInt8]) -> [Int] {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(separator: "{\"id\":").dropFirst().compactMap { Int($0.prefix { $0.isNumber || $0 == "-" }) }
    }

    private func subscribe(
        _ context: NodeContext, _ loop: EmbeddedEventLoop, path: String, headers: String = ""
    )
        throws -> EmbeddedConnection
    {
        let channel = EmbeddedChannel(loop: loop)
        try HeraldNode.configureHTTP(channel.pipeline.syncOperations, context: context, role: .public)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let connection = EmbeddedConnection(channel: channel, loop: loop)
        try connection.send(
            "GET \(path) HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\(headers)"
                + "Sec-WebSocket-Key: /mQoZf6pRiv8+6o72GncLQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        _ = try connection.received()  // the 101
        return connection
    }

    @Test func liveMessagesDuringCatchUpAreHeldThenDeliveredOnce() throws {
        let (loop, engine, context) = makeNode()
        for i in 1...3 { try publish(engine, "c", "m\(i)") }
        let socket = try subscribe(context, loop, path: "/ws/c", headers: "Last-Event-ID: hc:c:1\r\n")
        // Registered, backlog read in flight: these are held, not written.
        try publish(engine, "c", "m4")
        try publish(engine, "c", "m5")
        #expect(try socket.received().isEmpty)
        // The read sees 1...5 (it ran after the publishes): the subscriber gets 4,5 from the backlog
        // after 2,3 and must not get them again from the held live copies.
        try engine.openGates()
        try publish(engine, "c", "m6")
        #expect(ids(in: try socket.received()) == [2, 3, 4, 5, 6])
    }

    /// The subscriber that makes the node host a channel catches up from the read the hosting
    /// made (no read of its own); one that joins while the hosting is under way was registered
    /// after that read may have been made, so it reads anew. Both get the exact run after their cursor.
    @Test func theHostingReadServesTheSubscriberThatStartedItOnly() throws {
        let (loop, engine, context) = makeNode()
        engine.hostingReads = true
        for i in 1...2 { try publish(engine, "c", "m\(i)") }
        let first = try subscribe(context, loop, path: "/ws/c", headers: "Last-Event-ID: hc:c:1\r\n")
        let second = try subscribe(context, loop, path: "/ws/c", headers: "Last-Event-ID: hc:c:1\r\n")
        try publish(engine, "c", "m3")
        #expect(engine.hostGates.count == 1)
        try engine.openHosting()
        #expect(ids(in: try first.received()) == [2, 3])
        #expect(engine.gates.count == 1, "only the second subscriber reads the backlog")
        #expect(try second.received().isEmpty)
        try engine.openGates()
        try publish(engine, "c", "m4")
        #expect(ids(in: try first.received()) == [4])
        #expect(ids(in: try second.received()) == [2, 3, 4])
    }

    @Test func cursorResumeAcrossTwoChannelsIsExact() throws {
        let (loop, engine, context) = makeNode()
        for i in 1...4 { try publish(engine, "a", "a\(i)") }
        for i in 1...2 { try publish(engine, "b", "b\(i)") }
        let socket = try subscribe(context, loop, path: "/ws/a/b", headers: "Last-Event-ID: hc:a:2,b:1\r\n")
        try publish(engine, "b", "b3")
        try engine.openGates()
        let text = String(decoding: try socket.received(), as: UTF8.self)
        let order = text.split(separator: "\"text\":\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(order == ["a3", "a4", "b2", "b3"])
    }

    @Test func aResumePointOlderThanTheBacklogIsReported() throws {
        var settings = NodeSettings()
        settings.maxMessagesStoredPerChannel = 3
        let (loop, engine, context) = makeNode(settings)
        for i in 1...6 { try publish(engine, "t", "m\(i)") }
        let socket = try subscribe(context, loop, path: "/ws/t", headers: "Last-Event-ID: hc:t:1\r\n")
        try engine.openGates()
        #expect(ids(in: try socket.received()) == [-4, 4, 5, 6])
    }

    @Test func heldMessagesPastTheBufferBoundDropTheSubscriber() throws {
        var settings = NodeSettings()
        settings.maxSubscriberBuffer = ByteSize(bytes: 10)
        let (loop, engine, context) = makeNode(settings)
        let socket = try subscribe(context, loop, path: "/ws/big")
        try publish(engine, "big", "0123456789abcdef")
        #expect(context.registry.subscriberCount("big") == 0)
        #expect(try socket.received() == [0x88, 0x00])
    }
}
