/// Where a subscriber asked to resume one channel from.
public enum ResumePoint: Hashable, Sendable {
    /// No resume information: live messages only.
    case none
    /// The last N stored messages (`.bN` in the path).
    case backtrack(Int)
    /// Everything after this message id (Herald's resume cursor).
    case afterID(Int64)
    /// Everything after the message with this `Event-Id` (`Last-Event-ID`).
    case afterEventID(String)
    /// Everything strictly after this publish time and tag (`If-Modified-Since` / `If-None-Match`).
    case since(time: Int64, tag: Int64?)
}

/// The stored messages to replay for one channel, and whether some the client wanted are gone.
public struct ResumeSelection: Sendable {
    /// The messages to send, oldest first.
    public var messages: ArraySlice<Message>
    /// `true` when the backlog no longer holds everything after the resume point.
    public var missed: Bool

    /// A selection of `messages`, flagged `missed` if older ones are gone.
    public init(messages: ArraySlice<Message>, missed: Bool) {
        self.messages = messages
        self.missed = missed
    }
}

/// Picks the backlog messages a resuming subscriber must get, per push-stream's rules plus Herald's ids.
public enum Resume {
    /// Selects from one channel's backlog `stored` (oldest first, ids increasing) the messages after `point`.
    ///
    /// `lastID` is the channel's last assigned id; it tells a trimmed backlog (report `missed`) from a
    /// channel that was deleted and re-created since the client's id was issued (start over from 0).
    public static func select(stored: [Message], lastID: Int64, after point: ResumePoint) -> ResumeSelection {
        let nothing = stored[stored.endIndex...]
        switch point {
        case .none:
            return ResumeSelection(messages: nothing, missed: false)

        case .backtrack(let count):
            guard count > 0 else { return ResumeSelection(messages: nothing, missed: false) }
            return ResumeSelection(messages: stored.suffix(count), missed: false)

        case .afterEventID(let eventID):
            guard let anchor = stored.firstIndex(where: { $0.eventID == eventID }) else {
                return ResumeSelection(messages: nothing, missed: false)
            }
            return ResumeSelection(messages: stored[(anchor + 1)...], missed: false)

        case .since(let time, let tag):
            return ResumeSelection(messages: since(stored, time: time, tag: tag), missed: false)

        case .afterID(let requested):
            // An id beyond the channel's last one was issued by an earlier incarnation of the channel.
            let after = requested > lastID || requested < 0 ? 0 : requested
            let start = stored.partitioningIndex { $0.id > after }
            let missed: Bool
            if after < lastID {
                missed = stored.first.map { $0.id > after + 1 } ?? true
            } else {
                missed = false
            }
            return ResumeSelection(messages: stored[start...], missed: missed)
        }
    }

    /// push-stream's time/tag walk: the first message newer than `time` (or in the same second with a
    /// tag at least `tag`) starts the replay, and is itself skipped only if it is exactly (time, tag).
    static func since(_ stored: [Message], time: Int64, tag: Int64?) -> ArraySlice<Message> {
        for (index, message) in stored.enumerated() {
            let sameSecondNewer = message.time == time && tag.map { message.tag >= $0 } == true
            guard message.time > time || sameSecondNewer else { continue }
            let isTheLastSeen = message.time == time && message.tag == tag
            return stored[(isTheLastSeen ? index + 1 : index)...]
        }
        return stored[stored.endIndex...]
    }
}

extension Array {
    /// The first index whose element satisfies `predicate`, which must be false then true along the array.
    fileprivate func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let mid = low + (high - low) / 2
            if predicate(self[mid]) {
                high = mid
            } else {
                low = mid + 1
            }
        }
        return low
    }
}
