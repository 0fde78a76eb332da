/// Where a subscriber asked to resume one channel from.
public enum ResumePoint: Hashable, Sendable {
    /// No resume information: live messages only.
    case none
    /// The last N stored messages (`.bN` in the path).
    case backtrack(Int)
    /// Everything after this message id of this generation (Herald's resume cursor; a generation
    /// of 0 is a cursor that did not name one).
    case afterID(Int64, generation: Int64)
    /// Everything after the message with this `Event-Id` (`Last-Event-ID`).
    case afterEventID(String)
    /// Everything strictly after this publish time and tag (`If-Modified-Since` / `If-None-Match`).
    case since(time: Int64, tag: Int64?)
}

/// The stored messages to replay for one channel, and whether some the client wanted are gone.
public struct ResumeSelection: Sendable {
    /// The messages to send, oldest first.
    public var messages: ArraySlice<Message>
    /// `true` when the backlog no longer holds everything after the resume point: the client gets
    /// the id -4 notice before `messages`.
    public var missed: Bool
    /// Where the client stands before `messages` (after the notice, when `missed`).
    public var start: StreamPoint
    /// Where the client stands once it has `messages`.
    public var end: StreamPoint

    public init(messages: ArraySlice<Message>, missed: Bool, start: StreamPoint, end: StreamPoint) {
        self.messages = messages
        self.missed = missed
        self.start = start
        self.end = end
    }
}

/// Picks the backlog messages a resuming subscriber must get: push-stream's rules, Herald's ids
/// and generations, and the fifth delivery invariant — a resume point older than what is stored,
/// or from another generation of the channel, is reported (`missed`), never skipped quietly.
/// Every resume path of every transport and both engines decides here.
public enum Resume {
    /// Selects from `backlog` the messages after `point`.
    ///
    /// A channel that does not exist (expired, deleted, or lost with Redis's data) is a generation
    /// with no message: a point that names a message there is reported once, and then stands
    /// before whatever the channel's next generation holds.
    public static func select(_ backlog: ChannelBacklog, after point: ResumePoint) -> ResumeSelection {
        let stored = backlog.messages
        let floor = backlog.floor
        let fence = backlog.fence
        /// Whether a client at message `id` (or `(time, tag)`) has not reached the loss fence.
        func beforeFence(id: Int64) -> Bool { fence.map { id < $0.id } ?? false }
        func beforeFence(_ client: StreamPoint) -> Bool {
            fence.map { client.precedes(time: $0.time, tag: $0.tag) } ?? false
        }
        /// Everything stored, after the notice: the client's point is gone or cannot be placed.
        let everything = ResumeSelection(messages: stored[...], missed: true, start: floor, end: backlog.last)
        func from(_ index: Int, missed: Bool = false) -> ResumeSelection {
            let start = index == stored.startIndex ? floor : stored[index - 1].point
            return ResumeSelection(messages: stored[index...], missed: missed, start: start, end: backlog.last)
        }

        switch point {
        case .none:
            return from(stored.endIndex)

        case .backtrack(let count):
            guard count > 0 else { return from(stored.endIndex) }
            let index = max(stored.startIndex, stored.endIndex - count)
            // Asked for more than is stored, and older messages existed: some are gone; or the
            // messages asked for reach back past what Redis lost.
            let spansLoss = index < stored.endIndex && beforeFence(id: stored[index].id)
            return from(index, missed: (stored.count < count && floor.id > 0) || spansLoss)

        case .afterEventID(let eventID):
            if let anchor = stored.firstIndex(where: { $0.eventID == eventID }) {
                return from(anchor + 1, missed: beforeFence(id: stored[anchor].id))
            }
            return backlog.last.id > 0 ? everything : from(stored.endIndex)

        case .afterID(let id, let generation):
            let otherGeneration = generation != 0 && backlog.generation != 0 && generation != backlog.generation
            // An id the generation never reached was issued by another one.
            if otherGeneration || id > backlog.last.id || id < 0 { return everything }
            let index = stored.firstIndex { $0.id > id } ?? stored.endIndex
            var selection = from(index, missed: id < floor.id || beforeFence(id: id))
            // Not stored (published without storing) yet reached: the client stands at its own id.
            if !selection.missed && selection.start.id < id { selection.start.id = id }
            return selection

        case .since(let time, let tag):
            // A tag of 1 or more names a message the client had; one from before this generation
            // began (or from a channel that is gone) belongs to an earlier one, whose later
            // messages are gone.
            // Without a tag, push-stream's point is the end of the second `time`.
            let client = StreamPoint(id: 0, generation: 0, time: time, tag: tag ?? Int64.max)
            let began = StreamPoint.beginning(of: backlog.generation)
            if (tag ?? 0) > 0 && (!backlog.exists || client.precedes(time: began.time, tag: began.tag)) {
                return everything
            }
            let missed = (floor.id > 0 && client.precedes(time: floor.time, tag: floor.tag)) || beforeFence(client)
            return from(since(stored, time: time, tag: tag), missed: missed)
        }
    }

    /// push-stream's time/tag walk: the first message newer than `time` (or in the same second with a
    /// tag at least `tag`) starts the replay, and is itself skipped only if it is exactly (time, tag).
    static func since(_ stored: [Message], time: Int64, tag: Int64?) -> Int {
        for (index, message) in stored.enumerated() {
            let sameSecondNewer = message.time == time && tag.map { message.tag >= $0 } == true
            guard message.time > time || sameSecondNewer else { continue }
            let isTheLastSeen = message.time == time && message.tag == tag
            return isTheLastSeen ? index + 1 : index
        }
        return stored.endIndex
    }
}

extension Resume {
    /// The messages selected for several channels as one stream in publish order
    /// (``Message/order``), as a subscriber to all of them would have had them live. Each
    /// channel's messages stay in id order: the merge takes, each time, the channel whose next
    /// message was published first, so a Redis clock that stepped back can only misplace a message
    /// among other channels', never reorder its own channel. Ties go to the earlier channel.
    public static func interleave(_ selections: [ResumeSelection]) -> [(channel: Int, message: Message)] {
        var merged: [(channel: Int, message: Message)] = []
        merged.reserveCapacity(selections.reduce(0) { $0 + $1.messages.count })
        var next = selections.map(\.messages.startIndex)
        while true {
            var pick: Int?
            for channel in selections.indices where next[channel] < selections[channel].messages.endIndex {
                let order = selections[channel].messages[next[channel]].order
                if let best = pick, selections[best].messages[next[best]].order <= order { continue }
                pick = channel
            }
            guard let channel = pick else { return merged }
            merged.append((channel, selections[channel].messages[next[channel]]))
            next[channel] += 1
        }
    }
}
