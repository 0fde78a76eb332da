import Foundation

/// CPU time and resident memory of server processes, from /proc.
struct ProcessSample: Sendable {
    /// User + system CPU seconds.
    var cpuSeconds: Double
    /// Resident set size in bytes.
    var rssBytes: Int

    static func read(_ pids: [Int32]) -> ProcessSample? {
        guard !pids.isEmpty else { return nil }
        var total = ProcessSample(cpuSeconds: 0, rssBytes: 0)
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        for pid in pids {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // Fields after the command name: state is field 3, utime 14, stime 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
            total.cpuSeconds += (user + system) / ticks
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                total.rssBytes += (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
            }
        }
        return total
    }
}

/// CPU time the whole machine spent busy (every process, the kernel's interrupt work included), from
/// the first line of /proc/stat: what a delivery costs wherever its work lands, the load generator
/// and Redis included.
enum MachineCPU {
    /// Busy CPU seconds since boot, summed over cores; nil where /proc/stat cannot be read.
    static func busySeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        // user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 8 else { return nil }
        let busy = ticks.prefix(8).reduce(0, +) - ticks[3] - ticks[4]
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
