import HeraldCore
import HeraldPublisher
import NIOCore
import NIOHTTP1

/// Polling and long-polling: answers with what the backlog holds after the client's point, or
/// (long-polling) waits for the next message; 304 when nothing is new.
struct PollingAnswers {
    let node: NodeContext
    let request: HTTPRequest
    let subscription: Subscription
    let headers: HTTPHeaders

    func serve(mode: SubscriberMode, admission: EventLoopFuture<Grant?>, on loop: any EventLoop) -> EndpointResult {
        let headers = headers
        guard mode == .longPolling else {
            return .answer(
                admission.flatMap { _ in poll(on: loop) }.recover { HTTPAnswer(failure: $0, headers: headers) })
        }
        let subscriber = LongPollSubscriber(
            answers: self, loop: loop, registry: node.registry, channels: subscription.channels)
        subscriber.deadline = .now() + .milliseconds(node.settings.longpollingConnectionTTL.milliseconds)
        admission.hop(to: loop).assumeIsolated().flatMap { grant in
            subscriber.admit(grant)
            return subscriber.start()
        }.whenFailure { subscriber.fail($0) }
        return .answer(
            subscriber.answer.recover { HTTPAnswer(failure: $0, headers: headers) }, cancel: { subscriber.cancel() })
    }

    private func poll(on loop: any EventLoop) -> EventLoopFuture<HTTPAnswer> {
        let channels = subscription.channels
        let reads = channels.map { node.engine.backlog($0.channel, on: loop) }
        return EventLoopFuture.whenAllSucceed(reads, on: loop).map { backlogs in
            let selections = zip(channels, backlogs).map { channel, backlog in
                Resume.select(backlog, after: channel.resume)
            }
            // The notices first, then every channel's messages in publish order.
            var messages = zip(channels, selections).compactMap { channel, selection in
                selection.missed ? Message.missed(channel.channel, resumeAt: selection.start) : nil
            }
            messages += Resume.interleave(selections).map(\.message)
            let positions = zip(channels, selections).map { channel, selection in
                ChannelPosition(
                    channel: channel.channel, lastID: selection.end.id, generation: selection.end.generation)
            }
            let cursor = ResumeCursor(positions)
            return messages.isEmpty ? notModified(cursor: cursor) : self.messages(messages, cursor: cursor)
        }
    }

    /// 200 with the messages (JSONP-wrapped with a callback), and `Last-Modified`/`Etag` to resume
    /// from: those of the last message, or of a gap notice's point when it comes alone (the point
    /// right before the stored messages), never the clock.
    /// - Parameter position: time and tag to answer with when no message of the answer has an id
    ///   or a point (a timeout or a deletion notice): where the client stands.
    func messages(
        _ messages: [Message], cursor: ResumeCursor, position: (time: Int64, tag: Int64)? = nil
    ) -> HTTPAnswer {
        var headers = headers
        let body = node.registry.renderer.longPollBody(messages, callback: subscription.callback)
        headers.add(
            name: "Content-Type",
            value: subscription.callback != nil ? "application/javascript" : "text/plain; charset=utf-8")
        let last: Message =
            messages.last(where: { $0.id > 0 }) ?? messages.last(where: \.carriesPoint) ?? messages[messages.count - 1]
        if last.id > 0 || last.carriesPoint {
            headers.add(name: "Last-Modified", value: HTTPDate.format(last.time))
            headers.add(name: "Etag", value: etag(tag: last.tag, cursor: cursor))
        } else {
            headers.add(name: "Last-Modified", value: HTTPDate.format(position?.time ?? UnixClock.now()))
            headers.add(name: "Etag", value: etag(tag: position?.tag ?? 0, cursor: cursor))
        }
        return HTTPAnswer(status: .ok, headers: headers, body: body)
    }

    /// Nothing new: 304, echoing what the client sent so it can ask again.
    func notModified(cursor: ResumeCursor) -> HTTPAnswer {
        var headers = headers
        let resume = subscription.resume
        if let since = resume.since, since > 0 { headers.add(name: "Last-Modified", value: HTTPDate.format(since)) }
        if cursor.positions.count > 1 {
            headers.add(name: "Etag", value: "W/" + cursor.description)
        } else if let tag = resume.numericTag {
            headers.add(name: "Etag", value: "W/\(tag)")
        }
        return HTTPAnswer(status: .notModified, headers: headers)
    }

    /// A long-poll's time is up: 304 at the client's own position (or 200 with the timed-out
    /// message). Unlike push-stream, whose 304 carries the current time and `W/0`, the headers repeat
    /// the client's position: clients take them as the next resume point, and the current time
    /// would make them get a second's messages again (or skip some, with a clock ahead of the
    /// publisher's).
    func expired(cursor: ResumeCursor, single: (time: Int64, tag: Int64)?) -> HTTPAnswer {
        if node.settings.timeoutWithBody { return messages([.timedOut], cursor: cursor, position: single) }
        var headers = headers
        headers.add(name: "Last-Modified", value: HTTPDate.format(single?.time ?? UnixClock.now()))
        headers.add(name: "Etag", value: etag(tag: single?.tag ?? 0, cursor: cursor))
        return HTTPAnswer(status: .notModified, headers: headers)
    }

    /// `W/<tag>` for one channel (push-stream's form); the exact cursor for several.
    func etag(tag: Int64, cursor: ResumeCursor) -> String {
        cursor.positions.count > 1 ? "W/" + cursor.description : "W/\(tag)"
    }
}
