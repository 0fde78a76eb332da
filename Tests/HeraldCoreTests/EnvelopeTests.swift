import HeraldCore
import Testing

@Suite struct EnvelopeTests {
    @Test(arguments: [
        Message(channel: "news", id: 1, time: 1_700_000_000, tag: 1, text: Array("hello".utf8)),
        Message(channel: "a b/c", id: 42, time: 0, tag: 3, eventID: "e1", eventType: "t", text: [0, 10, 255, 32]),
        Message(channel: "", id: 7, time: 5, tag: 1, text: []),
        Message(
            channel: "ünï", id: 9_007_199_254_740_993, time: 1, tag: 2, eventID: "x\ny", text: Array("\n1 2\n".utf8)),
        Message.channelDeleted("gone", text: Array("bye".utf8)),
        Message(channel: "g", id: 5, time: 9, tag: 1, text: [1], generation: 1_764_000_000_123_456),
        Message(channel: "o", id: 6, time: 9, tag: 2, text: [2], generation: 3, order: 1_764_000_009_000_017),
    ])
    func roundTrip(message: Message) {
        #expect(Envelope.decode(Envelope.encode(message)) == message)
        let decoded = Envelope.decodeWithPrevious(Envelope.encode(message, previous: (8, 3)))
        #expect(decoded?.message == message)
        #expect(decoded?.previous?.time == 8 && decoded?.previous?.tag == 3)
    }

    @Test func layoutIsTheDocumentedOne() {
        let message = Message(
            channel: "ch", id: 3, time: 10, tag: 2, eventID: "ev", text: Array("hi".utf8), generation: 77,
            order: 10_000_123)
        let text = String(decoding: Envelope.encode(message, previous: (10, 1)), as: UTF8.self)
        #expect(text == "3 3 10 2 77 10 1 10000123 2 2 0\nchevhi")
    }

    /// Older envelopes carry no order: they are placed at the start of their publish second.
    @Test func versionOneIsStillReadWithoutGenerationOrPrevious() throws {
        let decoded = try #require(Envelope.decodeWithPrevious(Array("1 3 10 2 2 2 0\nchevhi".utf8)))
        #expect(
            decoded.message
                == Message(
                    channel: "ch", id: 3, time: 10, tag: 2, eventID: "ev", text: Array("hi".utf8), order: 10_000_000))
        #expect(decoded.previous == nil)
    }

    @Test func versionTwoIsStillReadWithoutOrder() throws {
        let decoded = try #require(Envelope.decodeWithPrevious(Array("2 3 10 2 77 10 1 2 2 0\nchevhi".utf8)))
        #expect(
            decoded.message
                == Message(
                    channel: "ch", id: 3, time: 10, tag: 2, eventID: "ev", text: Array("hi".utf8), generation: 77,
                    order: 10_000_000))
        #expect(decoded.previous?.time == 10 && decoded.previous?.tag == 1)
    }

    @Test(arguments: [
        "", "1 3 10 2 2 2 0", "2 3 10 2 2 0 0\nch", "1 3 10 2 5 0 0\nch", "1 3 x 2 2 0 0\nch", "1  3 10 2 2 0 0\nch",
        "1 3 10 2 -2 0 0\nch", "1 3 10 2 2 0\nch", "1 3 10 2 2 0 0 0\nch", "1 99999999999999999999 1 1 0 0 0\n",
        "2 3 10 2 7 1 1 2 0\nch", "3 3 10 2 7 1 1 2 0 0\nch", "4 3 10 2 7 1 1 5 2 0 0\nch",
    ])
    func malformedIsRejected(text: String) {
        #expect(Envelope.decode(Array(text.utf8)) == nil)
    }
}
