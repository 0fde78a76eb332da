import Foundation

/// Where the concurrency test announces each channel's final id once publishing has ended.
final class FinishLine: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String: Int]?

    func announce(_ ids: [String: Int]) {
        lock.lock()
        self.ids = ids
        lock.unlock()
    }

    var finalIDs: [String: Int]? {
        lock.lock()
        defer { lock.unlock() }
        return ids
    }
}
