import HeraldCore
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import HeraldServer

/// A node's connection pipeline on an `EmbeddedChannel`: raw request bytes in, raw response bytes out.
final class EmbeddedNode {
    let loop = EmbeddedEventLoop()
    let context: NodeContext
    let engine: MemoryEngine

    init(_ configure: (inout NodeSettings) -> Void = { _ in }) {
        var settings = NodeSettings()
        settings.pingMessageInterval = nil
        configure(&settings)
        engine = MemoryEngine(configuration: .init(settings), clock: { 1_700_000_000_000_000 })
        let registry = SubscriberRegistry(group: loop, engine: engine, settings: settings)
        engine.attach(registry)
        context = NodeContext(settings: settings, engine: engine, registry: registry, logger: Logger(label: "test"))
    }

    /// A new connection on `role`'s listener.
    func connect(_ role: ListenerRole) throws -> EmbeddedConnection {
        let channel = EmbeddedChannel(loop: loop)
        try HeraldNode.configureHTTP(channel.pipeline.syncOperations, context: context, role: role)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return EmbeddedConnection(channel: channel, loop: loop)
    }

    /// Runs queued work (deliveries handed to the loop) until nothing is left.
    func settle() {
        loop.run()
    }
}

/// One client connection to an ``EmbeddedNode``.
struct EmbeddedConnection {
    let channel: EmbeddedChannel
    let loop: EmbeddedEventLoop

    func send(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
        loop.run()
    }

    func send(bytes: [UInt8]) throws {
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        loop.run()
    }

    /// Everything the server wrote so far, as bytes.
    func received() throws -> [UInt8] {
        loop.run()
        var bytes: [UInt8] = []
        while let part = try channel.readOutbound(as: ByteBuffer.self) { bytes += part.readableBytesView }
        return bytes
    }

    func receivedText() throws -> String {
        String(decoding: try received(), as: UTF8.self)
    }
}
