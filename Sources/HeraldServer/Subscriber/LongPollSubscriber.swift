import HeraldCore
import NIOCore

/// A long-polling request waiting for a message. It answers with everything it has once every
/// channel has caught up, or with the first live message after that, or on timeout; the answer
/// completes ``answer``, which the connection writes.
final class LongPollSubscriber: LiveSubscriber {
    private let answers: PollingAnswers
    private let promise: EventLoopPromise<HTTPAnswer>
    private var collected: [Message] = []
    private var caughtUpEverywhere = false
    private var answered = false

    init(answers: PollingAnswers, loop: any EventLoop, registry: SubscriberRegistry, channels: [ChannelSubscription]) {
        self.answers = answers
        self.promise = loop.makePromise(of: HTTPAnswer.self)
        super.init(mode: .longPolling, loop: loop, registry: registry, channels: channels)
    }

    /// The answer, once there is one.
    var answer: EventLoopFuture<HTTPAnswer> { promise.futureResult }

    override func emit(_ rendered: RenderedMessage, catchUp: Bool) {
        guard !answered else { return }
        collected.append(rendered.message)
        if caughtUpEverywhere { respond(answers.messages(collected, cursor: cursor)) }
    }

    /// Every channel's backlog has been read: answer now if anything matched, else wait.
    override func caughtUp() {
        caughtUpEverywhere = true
        if !collected.isEmpty { respond(answers.messages(collected, cursor: cursor)) }
    }

    override func finish(sendFooter: Bool) {
        collected.isEmpty ? expire() : respond(answers.messages(collected, cursor: cursor))
    }

    override func overflow() {
        respond(answers.messages(collected, cursor: cursor))
    }

    /// Time is up (or the node is stopping).
    override func expire() {
        let single = channels.count == 1 ? (channels[0].point.time, channels[0].point.tag) : nil
        respond(answers.expired(cursor: cursor, single: single))
    }

    /// The grant ran out while waiting: answer with what was collected and the notice, at the
    /// client's own position, so it gets a new grant and resumes exactly.
    override func grantExpired() {
        let single = channels.count == 1 ? (channels[0].point.time, channels[0].point.tag) : nil
        respond(answers.messages(collected + [grantNotice], cursor: cursor, position: single))
    }

    /// The channels could not be joined: the request is refused with `error`.
    func fail(_ error: any Error) {
        guard !answered else { return }
        answered = true
        unregister()
        promise.fail(error)
    }

    /// The connection went away: leave the channels; nobody waits for the answer any more.
    func cancel() {
        fail(ChannelError.ioOnClosedChannel)
    }

    private func respond(_ answer: @autoclosure () -> HTTPAnswer) {
        guard !answered else { return }
        answered = true
        unregister()
        promise.succeed(answer())
    }
}
