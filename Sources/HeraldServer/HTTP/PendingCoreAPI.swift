import HeraldCore

// Stand-ins until the input checks land in HeraldCore.
extension ResumeCursor {
    static let maxTextLength = 8 * 1024
}

extension ProtocolError {
    static let cursorTooLarge = ProtocolError(status: 400, explain: "Resume cursor is too large.")
    static let invalidCallback = ProtocolError(status: 400, explain: "Invalid callback.")
    static let requestTimeout = ProtocolError(status: 408, explain: "Request took too long.")
}

enum JSONPCallbackName {
    static func validated(_ name: String) throws(ProtocolError) -> String {
        let allowed = name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "$"), UInt8(ascii: "."):
                true
            default: false
            }
        }
        guard allowed, name.utf8.count <= 128 else { throw .invalidCallback }
        return name
    }
}
