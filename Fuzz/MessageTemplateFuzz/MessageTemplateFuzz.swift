import FuzzSupport
import HeraldCore

/// Any template with any message renders without trapping; the streaming page's template never
/// lets a value out of its JavaScript string.
@_cdecl("MessageTemplateFuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzDriver.run(argc, argv) { data, size in
        check(FuzzDriver.bytes(data, size))
        return 0
    }
}

let streamingPage = MessageTemplate(
    "<script>p(~id~,'~channel~','~text~','~event-id~', '~time~', '~tag~');</script>")

/// Input: a length byte, that many bytes of template source, then channel, event id and text
/// separated by 0xFF (which is never UTF-8, so every split is reachable).
func check(_ input: UnsafeBufferPointer<UInt8>) {
    guard let first = input.first else { return }
    let sourceEnd = min(input.count, 1 + Int(first))
    let source = String(decoding: input[1..<sourceEnd], as: UTF8.self)
    let fields = input[sourceEnd...].split(separator: 0xFF, maxSplits: 2, omittingEmptySubsequences: false)
    let channel = fields.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
    let eventID = fields.count > 1 ? String(decoding: fields[1], as: UTF8.self) : nil
    let text = fields.count > 2 ? Array(fields[2]) : []
    let message = Message(channel: channel, id: Int64(first), time: 0, tag: 1, eventID: eventID, text: text)

    var out: [UInt8] = []
    MessageTemplate(source).render(message, into: &out)

    out.removeAll(keepingCapacity: true)
    streamingPage.render(message, into: &out)
    // The template's own two `<` are the only ones; so `</script` appears once, at the end.
    FuzzDriver.require(out.count { $0 == UInt8(ascii: "<") } == 2, "a raw < escaped the string")
    FuzzDriver.require(!out.contains(0x0A) && !out.contains(0x0D), "a line break in the page")
    FuzzDriver.require(out.starts(with: Array("<script>p(".utf8)), "the page lost its start")
    FuzzDriver.require(out.suffix(11).elementsEqual(");</script>".utf8), "the page lost its end")
}
