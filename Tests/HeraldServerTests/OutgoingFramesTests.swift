import NIOCore
import Testing

@testable import HeraldServer

@Suite struct OutgoingFramesTests {
    @Test func oneFrameIsHandedOnAsItIs() {
        var frames = OutgoingFrames()
        frames.append(ByteBuffer(string: "a"))
        #expect(frames.take() == ByteBuffer(string: "a"))
        #expect(frames.take() == nil)
    }

    @Test func framesOfOneTurnLeaveAsOneBufferInOrder() {
        var frames = OutgoingFrames()
        for text in ["one ", "two ", "three"] { frames.append(ByteBuffer(string: text)) }
        #expect(frames.take() == ByteBuffer(string: "one two three"))
        #expect(frames.take() == nil)
    }

    @Test func theSharedRenderedFrameIsNotChanged() {
        let shared = ByteBuffer(string: "rendered once")
        var first = OutgoingFrames()
        var second = OutgoingFrames()
        first.append(shared)
        second.append(shared)
        first.append(ByteBuffer(string: ", then more"))
        #expect(first.take() == ByteBuffer(string: "rendered once, then more"))
        #expect(second.take() == shared)
        #expect(shared == ByteBuffer(string: "rendered once"))
    }
}
