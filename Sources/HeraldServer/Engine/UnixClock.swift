#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time in whole Unix seconds: the protocol's message time.
public enum UnixClock {
    @Sendable public static func now() -> Int64 {
        Int64(time(nil))
    }
}
