import FuzzSupport
import HeraldCore

/// Any text as a cursor: parsing never traps, and a parsed cursor's text form parses back equal.
@_cdecl("ResumeCursorFuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzDriver.run(argc, argv) { data, size in
        check(FuzzDriver.bytes(data, size))
        return 0
    }
}

func check(_ input: UnsafeBufferPointer<UInt8>) {
    let text = String(decoding: input, as: UTF8.self)
    guard let cursor = ResumeCursor(parsing: text, maxEntries: 20, maxLength: 2_000) else { return }
    FuzzDriver.require(cursor.positions.count <= 20, "too many entries")
    let description = cursor.description
    FuzzDriver.require(description.utf8.count <= text.utf8.count, "the text form grew")
    let again = ResumeCursor(parsing: description, maxEntries: 20, maxLength: 2_000)
    FuzzDriver.require(again == cursor, "\(description) does not parse back")
    for position in cursor.positions {
        FuzzDriver.require(position.lastID >= 0, "negative id")
        FuzzDriver.require(cursor.position(of: position.channel) == position, "lookup disagrees")
    }
}
