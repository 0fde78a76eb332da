import HeraldCore
import NIOCore
import NIOHTTP1

/// A long-polling request waiting for a message. It answers with everything it has once every
/// channel has caught up, or with the first live message after that, or on timeout.
final class LongPollSubscriber: LiveSubscriber {
    private weak var handler: HTTPConnectionHandler?
    private let request: HTTPRequest
    private let headers: HTTPHeaders
    private var collected: [Message] = []
    private var caughtUpEverywhere = false
    private var answered = false

    init(
        handler: HTTPConnectionHandler, request: HTTPRequest, headers: HTTPHeaders, loop: any EventLoop,
        registry: SubscriberRegistry, channels: [ChannelSubscription]
    ) {
        self.handler = handler
        self.request = request
        self.headers = headers
        super.init(mode: .longPolling, loop: loop, registry: registry, channels: channels)
    }

    override func emit(_ rendered: RenderedMessage, catchUp: Bool) {
        guard !answered else { return }
        collected.append(rendered.message)
        if caughtUpEverywhere { answer() }
    }

    /// Every channel's backlog has been read: answer now if anything matched, else wait.
    override func caughtUp() {
        caughtUpEverywhere = true
        if !collected.isEmpty { answer() }
    }

    func fail(_ error: any Error) {
        guard !answered, let handler else { return }
        answered = true
        unregister()
        handler.finishWaiting()
        handler.respond(head: request.head, error: HTTPConnectionHandler.protocolError(error), headers: headers)
    }

    override func finish(sendFooter: Bool) {
        collected.isEmpty ? expire() : answer()
    }

    override func overflow() {
        answer()
    }

    /// Time is up (or the node is stopping): 304, or 200 with the timed-out message. Unlike
    /// push-stream, whose 304 carries the current time and `W/0`, the headers repeat the client's
    /// own position: clients take them as the next resume point, and the current time would make
    /// them get a second's messages again (or skip some, with a clock ahead of the publisher's).
    override func expire() {
        guard !answered, let handler else { return }
        answered = true
        unregister()
        handler.finishWaiting()
        var headers = headers
        let single = channels.count == 1 ? channels[0] : nil
        if registry.renderer.settings.timeoutWithBody {
            return handler.respondMessages(
                [.timedOut], request: request, headers: headers, cursor: cursor,
                position: single.map { ($0.positionTime, $0.positionTag) })
        }
        headers.add(name: "Last-Modified", value: HTTPDate.format(single?.positionTime ?? UnixClock.now()))
        headers.add(name: "Etag", value: handler.etag(tag: single?.positionTag ?? 0, cursor: cursor))
        handler.respond(head: request.head, status: .notModified, headers: headers)
    }

    private func answer() {
        guard !answered, let handler else { return }
        answered = true
        unregister()
        handler.finishWaiting()
        handler.respondMessages(collected, request: request, headers: headers, cursor: cursor)
    }
}
