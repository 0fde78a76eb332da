import Crypto
import Foundation

/// A WebSocket client (RFC 6455) on a blocking socket: the handshake with a random key and an
/// independent check of `Sec-WebSocket-Accept`, server frames of every length encoding, and masked
/// (or deliberately broken) client frames. Every read has a deadline.
public final class WebSocketTestClient: @unchecked Sendable {
    /// The frame opcodes of RFC 6455.
    public enum Opcode: UInt8, Sendable {
        case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA
    }

    /// One frame as received (unmasked).
    public struct Frame: Sendable, CustomStringConvertible {
        /// The FIN bit: the last frame of a message.
        public var fin: Bool
        /// The opcode, possibly one RFC 6455 does not define.
        public var opcode: UInt8
        /// Whether it came masked (a server must not mask).
        public var masked: Bool
        /// The payload, unmasked.
        public var payload: [UInt8]

        /// The payload as UTF-8 text.
        public var text: String { String(decoding: payload, as: UTF8.self) }
        /// Whether it is a text frame.
        public var isText: Bool { opcode == Opcode.text.rawValue }
        /// Whether it is a close frame.
        public var isClose: Bool { opcode == Opcode.close.rawValue }
        /// The status code of a close frame, if it carries one.
        public var closeCode: UInt16? {
            guard isClose, payload.count >= 2 else { return nil }
            return UInt16(payload[0]) << 8 | UInt16(payload[1])
        }
        /// The reason text of a close frame.
        public var closeReason: String {
            isClose && payload.count > 2 ? String(decoding: payload[2...], as: UTF8.self) : ""
        }
        /// A one-line summary, for failure messages.
        public var description: String {
            "frame(op \(opcode), fin \(fin), \(payload.count) bytes: \(text.prefix(120)))"
        }
    }

    /// What ``next(deadline:)`` got.
    public enum Event: Sendable {
        case frame(Frame)
        case timeout
        case closed
    }

    /// The GUID of RFC 6455 that `Sec-WebSocket-Accept` is computed with.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The connection frames arrive on.
    public let connection: BufferedConnection
    /// The handshake response.
    public let handshake: HTTPHead
    /// The `Sec-WebSocket-Key` sent.
    public let key: String
    /// Every frame received so far.
    public private(set) var received: [Frame] = []

    private init(connection: BufferedConnection, handshake: HTTPHead, key: String) {
        self.connection = connection
        self.handshake = handshake
        self.key = key
    }

    /// The `Sec-WebSocket-Accept` value a server must answer to `key`.
    public static func acceptValue(for key: String) -> String {
        Data(Insecure.SHA1.hash(data: Array((key + guid).utf8))).base64EncodedString()
    }

    /// Sends the upgrade request and reads the response head. Headers listed in `omit` are left
    /// out; `version` is the `Sec-WebSocket-Version` sent. The result's `handshake.status` is 101
    /// on success; any other answer's body (Content-Length) is consumed.
    public static func open(
        port: UInt16, _ path: String, version: String = "13", omit: Set<String> = [],
        extraHeaders: [(String, String)] = [], timeout: Duration = .seconds(5), receiveBuffer: Int? = nil
    ) throws -> WebSocketTestClient {
        let connection = BufferedConnection(socket: try TCPSocket(port: port, receiveBuffer: receiveBuffer))
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        var headers: [(String, String)] = [
            ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Key", key),
            ("Sec-WebSocket-Version", version), ("Origin", "http://127.0.0.1"),
        ]
        headers.removeAll { omit.contains($0.0) }
        headers += extraHeaders
        try connection.socket.send(RawHTTPClient.encode(method: "GET", path: path, headers: headers, body: nil))
        let head = try HTTPHead.read(from: connection, deadline: .after(timeout))
        if head.status != 101, let length = head.headers["Content-Length"].flatMap({ Int($0) }), length > 0 {
            _ = try connection.readExact(length, deadline: .after(timeout))
        }
        return WebSocketTestClient(connection: connection, handshake: head, key: key)
    }

    /// Whether the handshake succeeded with the right accept value.
    public var isAccepted: Bool {
        handshake.status == 101 && handshake.headers["Sec-WebSocket-Accept"] == Self.acceptValue(for: key)
    }

    // MARK: Reading

    /// The next frame, `.timeout` when none is complete by `deadline`, `.closed` when the
    /// connection ended.
    public func next(deadline: Deadline) throws -> Event {
        guard connection.ensure(2, deadline: deadline) else { return connection.isClosed ? .closed : .timeout }
        let header = Array(connection.buffered.prefix(2))
        let fin = header[0] & 0x80 != 0
        let opcode = header[0] & 0x0F
        let masked = header[1] & 0x80 != 0
        var length = Int(header[1] & 0x7F)
        var headerLength = 2
        if length == 126 {
            headerLength = 4
        } else if length == 127 {
            headerLength = 10
        }
        if masked { headerLength += 4 }
        guard connection.ensure(headerLength, deadline: deadline) else {
            return connection.isClosed ? .closed : .timeout
        }
        let fullHeader = Array(connection.buffered.prefix(headerLength))
        if length == 126 {
            length = Int(fullHeader[2]) << 8 | Int(fullHeader[3])
        } else if length == 127 {
            length = fullHeader[2..<10].reduce(0) { $0 << 8 | Int($1) }
        }
        guard connection.ensure(headerLength + length, deadline: deadline) else {
            return connection.isClosed ? .closed : .timeout
        }
        _ = connection.take(headerLength)
        var payload = connection.take(length)
        if masked {
            let mask = Array(fullHeader[(headerLength - 4)..<headerLength])
            for i in payload.indices { payload[i] ^= mask[i % 4] }
        }
        let frame = Frame(fin: fin, opcode: opcode, masked: masked, payload: payload)
        received.append(frame)
        return .frame(frame)
    }

    /// The next frame within `timeout`; nil on timeout or close.
    public func readFrame(timeout: Duration = .seconds(5)) throws -> Frame? {
        if case .frame(let frame) = try next(deadline: .after(timeout)) { return frame }
        return nil
    }

    /// Reads frames until `condition` holds on all frames so far (true), or timeout/close (false).
    public func read(timeout: Duration = .seconds(5), until condition: ([Frame]) -> Bool) throws -> Bool {
        let deadline = Deadline.after(timeout)
        while !condition(received) {
            guard case .frame = try next(deadline: deadline) else { return condition(received) }
        }
        return true
    }

    /// Reads frames until the server closes the TCP connection; false on timeout.
    public func readUntilClosed(timeout: Duration = .seconds(5)) throws -> Bool {
        let deadline = Deadline.after(timeout)
        while true {
            switch try next(deadline: deadline) {
            case .frame: continue
            case .closed: return true
            case .timeout: return false
            }
        }
    }

    /// Whether the server closed the TCP connection.
    public var isClosed: Bool { connection.isClosed }
    /// The text frames received so far.
    public var textFrames: [Frame] { received.filter(\.isText) }

    // MARK: Writing

    /// Sends a frame, masked unless told otherwise. `lengthOverride` lies about the length.
    public func send(_ opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            frame.append(maskBit | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame.append(maskBit | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(maskBit | 127)
            frame += (0..<8).map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> UInt64(56 - 8 * $0)) }
        }
        if masked {
            let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
            frame += mask
            frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        } else {
            frame += payload
        }
        try connection.socket.send(frame)
    }

    /// Sends a frame with `opcode`, masked unless told otherwise.
    public func send(_ opcode: Opcode, payload: [UInt8], fin: Bool = true, masked: Bool = true) throws {
        try send(opcode.rawValue, payload: payload, fin: fin, masked: masked)
    }

    /// Sends one masked text frame.
    public func sendText(_ text: String) throws { try send(.text, payload: Array(text.utf8)) }

    /// Sends a close frame with `code`.
    public func sendClose(code: UInt16 = 1000) throws {
        try send(.close, payload: [UInt8(code >> 8), UInt8(code & 0xFF)])
    }

    /// Closes the TCP connection without a close frame.
    public func close() { connection.socket.close() }
}

extension WebSocketTestClient {
    /// Connects and completes the handshake, off the cooperative pool.
    public static func connect(
        port: UInt16, _ path: String, version: String = "13", omit: Set<String> = [],
        extraHeaders: [(String, String)] = [], receiveBuffer: Int? = nil
    ) async throws -> WebSocketTestClient {
        try await Blocking.run {
            try WebSocketTestClient.open(
                port: port, path, version: version, omit: omit, extraHeaders: extraHeaders, receiveBuffer: receiveBuffer
            )
        }
    }

    /// Reads until `count` text frames have arrived (header/footer frames included).
    public func readTextFrames(_ count: Int, timeout: Duration = .seconds(5)) async throws -> Bool {
        try await Blocking.run { try self.read(timeout: timeout) { $0.filter(\.isText).count >= count } }
    }

    /// Reads until a frame satisfies `condition`.
    public func readUntil(
        timeout: Duration = .seconds(5), _ condition: @escaping @Sendable (Frame) -> Bool
    ) async throws -> Frame? {
        try await Blocking.run {
            var found: Frame?
            _ = try self.read(timeout: timeout) { frames in
                found = frames.first(where: condition)
                return found != nil
            }
            return found
        }
    }

    /// The next frame within `timeout`, off the cooperative pool; nil on timeout or close.
    public func readFrame(within timeout: Duration) async throws -> Frame? {
        try await Blocking.run { try self.readFrame(timeout: timeout) }
    }

    /// Reads until the server closes the TCP connection, off the cooperative pool; false on timeout.
    public func waitClosed(timeout: Duration = .seconds(5)) async throws -> Bool {
        try await Blocking.run { try self.readUntilClosed(timeout: timeout) }
    }

    /// Sends a frame off the cooperative pool.
    public func sendAsync(_ opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true) async throws {
        try await Blocking.run { try self.send(opcode, payload: payload, fin: fin, masked: masked) }
    }
}
