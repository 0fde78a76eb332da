import NIOCore

/// Delays between reconnect attempts: exponential from an initial delay up to a maximum, with jitter.
///
/// Attempt *n* (from 0) waits a random time between half and all of `min(maximum, initial × 2ⁿ)`, so that
/// many nodes losing Redis at once do not come back in lockstep.
struct ReconnectBackoff: Sendable {
    /// The delay before the first retry (before jitter).
    let initial: TimeAmount
    /// The largest delay (before jitter).
    let maximum: TimeAmount
    /// Retries made since the last success.
    private(set) var attempt = 0

    init(initial: TimeAmount, maximum: TimeAmount) {
        self.initial = TimeAmount.nanoseconds(max(initial.nanoseconds, 1))
        self.maximum = TimeAmount.nanoseconds(max(maximum.nanoseconds, self.initial.nanoseconds))
    }

    /// The delay before the next attempt, drawing jitter from `generator`.
    mutating func next(using generator: inout some RandomNumberGenerator) -> TimeAmount {
        let shift = min(self.attempt, 32)
        self.attempt += 1
        let (scaled, overflow) = self.initial.nanoseconds.multipliedReportingOverflow(by: Int64(1) << shift)
        let base = overflow ? self.maximum.nanoseconds : min(scaled, self.maximum.nanoseconds)
        let half = base / 2
        return .nanoseconds(base - half + Int64.random(in: 0...half, using: &generator))
    }

    /// The delay before the next attempt, with the system's random numbers.
    mutating func next() -> TimeAmount {
        var generator = SystemRandomNumberGenerator()
        return self.next(using: &generator)
    }

    /// Starts over after a successful connection.
    mutating func reset() {
        self.attempt = 0
    }
}
