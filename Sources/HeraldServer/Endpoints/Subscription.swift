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
        selections = try ChannelPath.parseValidated(
            rawPercentEncoded: raw, limits: settings.channelLimits(subscriber: true))
        callback = answersRequests ? try JSONPCallback.parse(request.argument("callback"))?.name : nil
        let resume = try ResumeRequest(head: request.head, arguments: request.argument(_:), byArgument: byArgument)
        self.resume = resume
        channels = selections.map { ChannelSubscription(channel: $0.channel, resume: resume.point(for: $0)) }
    }

}
