import Foundation

/// Runs blocking socket code on a thread of its own, so a test awaiting it never ties up a
/// thread of Swift's cooperative pool (two on a 2-core machine) and tests can run side by side.
public enum Blocking {
    /// Runs `body` on a new thread (4 MiB stack) and returns its result or rethrows its error.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
    }
}

/// A failure of the harness itself (timeout, unexpected end of stream, bad framing), with a
/// message that says what was expected.
public struct HarnessError: Error, CustomStringConvertible {
    /// What went wrong, and what was expected.
    public let description: String
    /// An error that says `description`.
    public init(_ description: String) { self.description = description }
}

/// A point in time after which a read gives up.
public struct Deadline: Sendable {
    /// The instant it passes.
    public let instant: ContinuousClock.Instant

    /// The deadline `duration` from now.
    public static func after(_ duration: Duration) -> Deadline {
        Deadline(instant: .now + duration)
    }

    /// Milliseconds left, at least 0, for `poll`.
    public var remainingMilliseconds: Int32 {
        let left = instant - .now
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    /// Whether the deadline is behind us.
    public var hasPassed: Bool { ContinuousClock.now >= instant }
}
