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

extension FinishLine {
    /// Collects the subscribers' logs from a task group whose publisher tasks return nil; once all
    /// `publishers` have, the final ids (read with `finalIDs`) are announced to the subscribers.
    func collect(
        _ group: inout ThrowingTaskGroup<ReceivedLog?, any Error>, publishers: Int,
        finalIDs: () async throws -> [String: Int]
    ) async throws -> [ReceivedLog] {
        var logs: [ReceivedLog] = []
        var publishersDone = 0
        for try await result in group {
            if let log = result {
                logs.append(log)
            } else {
                publishersDone += 1
                if publishersDone == publishers { announce(try await finalIDs()) }
            }
        }
        return logs
    }
}
