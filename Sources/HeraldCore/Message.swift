/// One message of one channel, as stored in the backlog and delivered to subscribers.
///
/// Ids are per channel and gap-free: 1, 2, 3… Negative ids are the protocol's
/// control messages (``Message/pingID``, ``Message/channelDeletedID``, ``Message/timeoutID``).
public struct Message: Sendable, Hashable {
    /// The channel the message was published to.
    public var channel: String
    /// Per-channel sequence number (1, 2, 3…), or a negative control id.
    public var id: Int64
    /// Publish time in whole seconds since the Unix epoch.
    public var time: Int64
    /// Disambiguates messages of one channel published within the same second (1, 2, 3…).
    public var tag: Int64
    /// The publisher's `Event-Id`, if any.
    public var eventID: String?
    /// The publisher's `Event-Type`, if any.
    public var eventType: String?
    /// The body, verbatim.
    public var text: [UInt8]
    /// The incarnation of the channel the id belongs to (0: unknown); see ``StreamPoint``.
    public var generation: Int64
    /// Where the message stands among the messages of every channel, in publish order: Redis's
    /// clock in microseconds when it was published, or the memory engine's publish count. A
    /// subscriber to several channels that resumes gets their messages merged by it, as it would
    /// have seen them live. Within one channel ids decide.
    public var order: Int64

    public init(
        channel: String,
        id: Int64,
        time: Int64,
        tag: Int64,
        eventID: String? = nil,
        eventType: String? = nil,
        text: [UInt8],
        generation: Int64 = 0,
        order: Int64 = 0
    ) {
        self.channel = channel
        self.id = id
        self.time = time
        self.tag = tag
        self.eventID = eventID
        self.eventType = eventType
        self.text = text
        self.generation = generation
        self.order = order
    }

    /// The point right after this message.
    public var point: StreamPoint {
        StreamPoint(id: id, generation: generation, time: time, tag: tag)
    }

    /// Id of the keep-alive message rendered through a streaming template.
    public static let pingID: Int64 = -1
    /// Id of the message sent to subscribers of a deleted channel.
    public static let channelDeletedID: Int64 = -2
    /// Id of the message a long-poll gets on timeout with `--timeout-with-body`.
    public static let timeoutID: Int64 = -3
    /// Id of the notice that messages between the resume point and the oldest stored one are gone.
    public static let missedID: Int64 = -4
    /// Id of the notice that the subscriber's grant expired: the subscription ends; the client gets
    /// a new grant and resumes from where it stands.
    public static let grantExpiredID: Int64 = -5

    /// Whether this control message's time and tag name a point the client stands at (gap and
    /// grant notices), so an answer that ends with it carries them as its validators.
    public var carriesPoint: Bool { id == Message.missedID || id == Message.grantExpiredID }

    /// The message sent to a deleted channel's subscribers.
    public static func channelDeleted(_ channel: String, text: [UInt8]) -> Message {
        Message(channel: channel, id: channelDeletedID, time: 0, tag: 0, text: text)
    }

    /// The ping rendered through a streaming template.
    public static func ping(text: [UInt8]) -> Message {
        Message(channel: "", id: pingID, time: 0, tag: 0, text: text)
    }

    /// Tells a resuming subscriber that `channel`'s backlog no longer holds all it asked for; the
    /// notice carries the time and tag of `resumeAt`, the point right before the messages that
    /// follow it, so a client that takes its resume point from every message continues exactly.
    public static func missed(_ channel: String, resumeAt point: StreamPoint) -> Message {
        Message(
            channel: channel, id: missedID, time: point.time, tag: point.tag, text: Array("Messages missed".utf8),
            generation: point.generation)
    }

    /// Tells a subscriber of `channel`, standing at `point`, that its grant has expired.
    public static func grantExpired(_ channel: String, at point: StreamPoint) -> Message {
        Message(
            channel: channel, id: grantExpiredID, time: point.time, tag: point.tag, text: Array("Grant expired".utf8),
            generation: point.generation)
    }

    /// The message a long-poll answers with on timeout when configured to send a body.
    public static let timedOut = Message(channel: "", id: timeoutID, time: 0, tag: 0, text: Array("Timed out".utf8))
}
