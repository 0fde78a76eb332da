import HeraldCore
import NIOCore
import NIOHTTP1

/// `/presence` (admin listener): `?id=CHANNEL` answers the users online on the channel with their
/// connection counts, `?user=ID` whether that user is online anywhere and on how many
/// connections; cluster-wide with Redis, this node's with the memory engine. Stats formats by
/// `Accept`, as `/channels-stats`.
struct PresenceEndpoint: Endpoint {
    let node: NodeContext

    /// The longest user id asked about.
    static let maxUserLength = 256
    static let askForOne = ProtocolError(status: 400, explain: "Give one channel id or one user.")
    static let userTooLarge = ProtocolError(status: 400, explain: "User id is too large.")

    private static let headers: HTTPHeaders = {
        var headers = HTTPHeaders()
        ResponseHeaders.addNoCache(to: &headers)
        return headers
    }()

    func serve(_ request: HTTPRequest, on loop: any EventLoop) -> EndpointResult {
        let headers = Self.headers
        guard request.head.method == .GET else { return .answer(.methodNotAllowed(allow: "GET", headers: headers)) }
        let format = StatsFormat(accept: request.head.headers.first(name: "accept"))
        let answered: @Sendable (String) -> HTTPAnswer = { text in
            HTTPAnswer(text: text, contentType: format.contentType, headers: headers)
        }
        let user = request.argument("user")
        let rawChannel = request.rawArgument("id")
        switch (rawChannel, user) {
        case (nil, let user?):
            guard !user.isEmpty else { return .answer(HTTPAnswer(error: Self.askForOne, headers: headers)) }
            guard user.utf8.count <= Self.maxUserLength else {
                return .answer(HTTPAnswer(error: Self.userTooLarge, headers: headers))
            }
            return .answer(
                node.engine.presence(user: user, on: loop).hop(to: loop).map { connections in
                    answered(PresenceRenderer.user(user, connections: connections, as: format))
                }.recover { HTTPAnswer(failure: $0, headers: headers) })
        case (let raw?, nil):
            let channel: String
            do {
                let selections = try ChannelPath.parseValidated(
                    rawPercentEncoded: raw, limits: node.settings.channelLimits(subscriber: false))
                guard selections.count == 1 else { throw Self.askForOne }
                channel = selections[0].channel
            } catch {
                return .answer(HTTPAnswer(failure: error, headers: headers))
            }
            return .answer(
                node.engine.presence(channel: channel, on: loop).hop(to: loop).map { users in
                    answered(PresenceRenderer.channel(channel, users: users, as: format))
                }.recover { HTTPAnswer(failure: $0, headers: headers) })
        default:
            return .answer(HTTPAnswer(error: Self.askForOne, headers: headers))
        }
    }
}
