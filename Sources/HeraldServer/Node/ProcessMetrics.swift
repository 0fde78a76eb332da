import Foundation
import HeraldCore
import Metrics
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prometheus' standard process metrics (`process_open_fds`, `process_resident_memory_bytes`, …),
/// read from `/proc` when `/metrics` is scraped. On a system without `/proc` they are left out.
final class ProcessMetrics: Sendable {
    private let openFDs = Gauge(label: "process_open_fds")
    private let maxFDs = Gauge(label: "process_max_fds")
    private let resident = Gauge(label: "process_resident_memory_bytes")
    private let virtual = Gauge(label: "process_virtual_memory_bytes")
    private let startTime = Gauge(label: "process_start_time_seconds")
    private let cpu = FloatingPointCounter(label: "process_cpu_seconds_total")
    /// CPU seconds already counted: the counter only moves by what was used since.
    private let countedCPU = NIOLockedValueBox(0.0)

    func record() {
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFDs.record(entries.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFDs.record(Int(clamping: limit.rlim_cur)) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        if let statm = Self.read("/proc/self/statm"), let pages = ProcessFigures.memoryPages(statm: statm) {
            resident.record(pages.resident * page)
            virtual.record(pages.virtual * page)
        }
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = Self.read("/proc/self/stat"), let figures = ProcessFigures.cpuAndStart(stat: stat),
            ticksPerSecond > 0
        {
            let seconds = Double(figures.cpuTicks) / ticksPerSecond
            let delta = countedCPU.withLockedValue { counted -> Double in
                defer { counted = max(counted, seconds) }
                return max(0, seconds - counted)
            }
            if delta > 0 { cpu.increment(by: delta) }
            if let procStat = Self.read("/proc/stat"), let boot = ProcessFigures.bootTime(procStat: procStat) {
                startTime.record(Double(boot) + Double(figures.startTicks) / ticksPerSecond)
            }
        }
    }

    private static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }
}
