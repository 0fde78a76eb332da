import HeraldCore
import NIOHTTP1

/// What a subscribe request asks for, parsed once with every limit checked first: the channels,
/// where each resumes, and (for answered modes) the JSONP callback.
struct Subscription {
    let selections: [ChannelSelection]
    let channels: [ChannelSubscription]
    let resume: ResumeRequest
    /// The JSONP callback of a long-poll or poll, already checked to be a JavaScript name.
    let callback: String?

    /// - Throws: the `ProtocolError` the client must see.
    init(
        _ request: HTTPRequest, channelsPath: Substring, settings: NodeSettings, byArgument: Bool,
        answersRequests: Bool
    ) throws(ProtocolError) {
        let raw = channelsPath.isEmpty ? (request.rawArgument("channels") ?? "") : channelsPath
        selections = try ChannelRequest.selections(raw, settings: settings, subscriber: true)
        callback = answersRequests ? try Self.callback(request) : nil
        let resume = try ResumeRequest(head: request.head, arguments: request.argument(_:), byArgument: byArgument)
        self.resume = resume
        channels = selections.map { ChannelSubscription(channel: $0.channel, resume: resume.point(for: $0)) }
    }

    private static func callback(_ request: HTTPRequest) throws(ProtocolError) -> String? {
        guard let callback = request.argument("callback"), !callback.isEmpty else { return nil }
        return try JSONPCallbackName.validated(callback)
    }
}
