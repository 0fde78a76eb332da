import FuzzSupport
import HeraldCore

/// Any byte stream as client frames: reading never traps, consumes only whole frames, and never
/// returns a payload over the limit.
@_cdecl("WebSocketFrameFuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzDriver.run(argc, argv) { data, size in
        check(FuzzDriver.bytes(data, size))
        return 0
    }
}

/// Input: a byte for the size limit, then the stream.
func check(_ bytes: UnsafeBufferPointer<UInt8>) {
    let input = UnsafeRawBufferPointer(bytes)
    guard let first = input.first else { return }
    let maxSize = Int(first) * 4
    var offset = 1
    while offset < input.count {
        let rest = UnsafeRawBufferPointer(rebasing: input[offset...])
        let read: (frame: WebSocketClientFrame, consumed: Int)?
        do {
            read = try WebSocketClientFrame.read(rest, maxSize: maxSize)
        } catch {
            return
        }
        guard let (frame, consumed) = read else { return }
        FuzzDriver.require(consumed >= 6 && consumed <= rest.count, "consumed \(consumed) of \(rest.count)")
        FuzzDriver.require(frame.payload.count <= maxSize, "payload over the limit")
        FuzzDriver.require(consumed - frame.payload.count <= 14, "header longer than RFC 6455 allows")
        // One byte short of the frame is not a frame yet.
        let partial = UnsafeRawBufferPointer(rebasing: rest[..<(consumed - 1)])
        let short = try? WebSocketClientFrame.read(partial, maxSize: maxSize)
        FuzzDriver.require(short == nil, "a frame read from a partial frame")
        offset += consumed
    }
}
