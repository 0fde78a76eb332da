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
    ])
    func roundTrip(message: Message) {
        #expect(Envelope.decode(Envelope.encode(message)) == message)
    }

    @Test func layoutIsTheDocumentedOne() {
        let message = Message(channel: "ch", id: 3, time: 10, tag: 2, eventID: "ev", text: Array("hi".utf8))
        #expect(String(decoding: Envelope.encode(message), as: UTF8.self) == "1 3 10 2 2 2 0\nchevhi")
    }

    @Test(arguments: [
        "", "1 3 10 2 2 2 0", "2 3 10 2 2 0 0\nch", "1 3 10 2 5 0 0\nch", "1 3 x 2 2 0 0\nch", "1  3 10 2 2 0 0\nch",
        "1 3 10 2 -2 0 0\nch", "1 3 10 2 2 0\nch", "1 3 10 2 2 0 0 0\nch", "1 99999999999999999999 1 1 0 0 0\n",
    ])
    func malformedIsRejected(text: String) {
        #expect(Envelope.decode(Array(text.utf8)) == nil)
    }
}
