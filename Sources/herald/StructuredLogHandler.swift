import Foundation
import HeraldCore
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler writing one structured line per event to standard error, in logfmt or
/// JSON (``LogLine``). Metadata keys are sorted, so lines of one kind read alike.
struct StructuredLogHandler: LogHandler {
    let label: String
    let format: LogFormat
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, format: LogFormat, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let explicit = event.metadata { all.merge(explicit) { _, new in new } }
        if let error = event.error { all["error"] = "\(error)" }
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let millis = Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
        let text = LogLine.render(
            format, time: LogLine.timestamp(unixMilliseconds: millis), level: event.level.rawValue, logger: label,
            message: event.message.description,
            fields: all.sorted { $0.key < $1.key }.map { (key: $0.key, value: "\($0.value)") })
        // One write per line, so lines of different threads never interleave.
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
