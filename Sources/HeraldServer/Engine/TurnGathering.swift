import NIOConcurrencyHelpers

/// Calls gathered during one turn of an event loop, to be sent together at the end of it: many
/// subscribers arriving at once then share a write to Redis instead of making one each.
///
/// The first ``add(_:)`` of a turn tells its caller to schedule ``take(limit:)`` on the loop
/// (`execute` runs it after what the turn already queued); every later one only appends.
struct TurnGathering<Item: Sendable>: Sendable {
    private let gathered = NIOLockedValueBox<(items: [Item], scheduled: Bool)>(([], false))

    /// Adds `item` to this turn's; true when it is the turn's first, whose caller schedules the take.
    func add(_ item: Item) -> Bool {
        gathered.withLockedValue { gathered in
            gathered.items.append(item)
            defer { gathered.scheduled = true }
            return !gathered.scheduled
        }
    }

    /// Everything gathered since the last take, in the order it came, `limit` items at a time; the
    /// next ``add(_:)`` starts a new turn.
    func take(limit: Int) -> [ArraySlice<Item>] {
        let items = gathered.withLockedValue { gathered in
            gathered.scheduled = false
            defer { gathered.items.removeAll() }
            return gathered.items
        }
        let size = max(1, limit)
        return stride(from: 0, to: items.count, by: size).map { items[$0..<min($0 + size, items.count)] }
    }
}
