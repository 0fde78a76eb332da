/// Herald resume cursors as tests compare them.
public enum CursorText {
    /// `cursor` without the generations of its entries (`hc:a:4:1764…,b:2:1764…` → `hc:a:4,b:2`):
    /// generations are creation times, so tests compare the ids and check generations apart.
    public static func withoutGenerations(_ cursor: String?) -> String? {
        guard let cursor, cursor.hasPrefix("hc:") else { return cursor }
        let entries = cursor.dropFirst(3).split(separator: ",", omittingEmptySubsequences: false).map { entry in
            entry.split(separator: ":", omittingEmptySubsequences: false).prefix(2).joined(separator: ":")
        }
        return "hc:" + entries.joined(separator: ",")
    }

    /// The generation of each entry of `cursor`, 0 where it names none.
    public static func generations(_ cursor: String?) -> [Int64] {
        guard let cursor, cursor.hasPrefix("hc:") else { return [] }
        return cursor.dropFirst(3).split(separator: ",").map { entry in
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            return parts.count > 2 ? Int64(parts[2]) ?? 0 : 0
        }
    }

    /// `text` with the generations taken out of every EventSource `id: hc:…` line.
    public static func withoutGenerations(inText text: String) -> String {
        // By bytes: in a String, a chunk's "\r\n" before an id line is one character, not a "\n".
        String(
            decoding: text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
                let line = String(decoding: line, as: UTF8.self)
                return line.hasPrefix("id: hc:") ? "id: " + withoutGenerations(String(line.dropFirst(4)))! : line
            }.joined(separator: "\n").utf8, as: UTF8.self)
    }
}
