import HeraldCore
import NIOHTTP1

/// Where each channel of a subscription resumes, read from the request (reference §6.1).
///
/// Herald's cursor (in `Last-Event-ID`, `If-None-Match` or the `tag`/`eventid` arguments) is
/// exact across channels and wins; then a publisher's event id; then time and tag. A channel's
/// `.bN` backtrack overrides all of them for that channel.
struct ResumeRequest {
    var lastEventID: String?
    var since: Int64?
    var tag: String?
    /// The `cursor` query argument: always read, since a browser's WebSocket cannot send headers.
    var cursorArgument: String?
    /// The Herald cursor, from whichever input carries one: parsed once per request.
    let cursor: ResumeCursor?

    /// - Throws: `ProtocolError.cursorTooLarge` for a cursor past the size limit, before parsing it.
    init(head: HTTPRequestHead, arguments: (String) -> String?, byArgument: Bool) throws(ProtocolError) {
        cursorArgument = arguments("cursor").flatMap { $0.isEmpty ? nil : $0 }
        if byArgument {
            lastEventID = arguments("eventid").flatMap { $0.isEmpty ? nil : $0 }
            since = arguments("time").flatMap { $0.isEmpty ? nil : Self.parseTime($0) }
            tag = arguments("tag").flatMap { $0.isEmpty ? nil : $0 }
        } else {
            lastEventID = head.headers.first(name: "Last-Event-ID")
            since = head.headers.first(name: "If-Modified-Since").flatMap(HTTPDate.parse)
            tag = head.headers.first(name: "If-None-Match")
        }
        let candidates = [cursorArgument, lastEventID, tag]
        if candidates.contains(where: { ($0?.utf8.count ?? 0) > ResumeCursor.defaultMaxLength }) {
            throw .cursorTooLarge
        }
        cursor = candidates.lazy.compactMap { $0.flatMap(ResumeCursor.init(parsing:)) }.first
    }

    /// The `time` argument: an HTTP date, as the JavaScript client sends it, or Unix seconds.
    private static func parseTime(_ text: String) -> Int64? {
        HTTPDate.parse(text) ?? Int64(text)
    }

    /// push-stream's tag: `W/` stripped, integer, absolute value; anything else is no tag.
    var numericTag: Int64? {
        guard var text = tag?[...] else { return nil }
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.hasPrefix("\"") && text.hasSuffix("\"") && text.count >= 2 { text = text.dropFirst().dropLast() }
        return Int64(text).map { $0.magnitude > Int64.max.magnitude ? Int64.max : Int64($0.magnitude) }
    }

    func point(for selection: ChannelSelection) -> ResumePoint {
        if selection.backtrack > 0 { return .backtrack(selection.backtrack) }
        if let cursor {
            return cursor.position(of: selection.channel).map { .afterID($0.lastID, generation: $0.generation) }
                ?? .none
        }
        if let lastEventID { return .afterEventID(lastEventID) }
        if let since { return .since(time: since, tag: numericTag) }
        return .none
    }
}
