import Foundation

/// Tests whose outcome depends on which Unix second things happen in.
public enum WallClock {
    /// Sleeps until just after the next whole second, so what follows has most of a second before
    /// the clock's second changes.
    public static func sleepUntilTheNextSecond() async throws {
        let now = Date().timeIntervalSince1970
        try await Task.sleep(for: .milliseconds(Int((1 - now.truncatingRemainder(dividingBy: 1)) * 1000) + 20))
    }
}
