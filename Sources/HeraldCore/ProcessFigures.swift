/// Reads the figures the process metrics report out of Linux's `/proc/self/stat` and
/// `/proc/self/statm` texts. Pure, so the parsing is tested without a process to read.
public enum ProcessFigures {
    /// User plus system CPU time in clock ticks, and the start time in ticks after boot, from
    /// `/proc/self/stat` (proc(5): fields 14, 15 and 22). The command name (field 2) may hold spaces
    /// and parentheses, so fields are counted after its last `)`.
    public static func cpuAndStart(stat: String) -> (cpuTicks: Int, startTicks: Int)? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name, field 3 (state) is fields[0]: field n is fields[n - 3].
        guard fields.count > 19, let user = Int(fields[11]), let system = Int(fields[12]), let start = Int(fields[19])
        else { return nil }
        return (user + system, start)
    }

    /// Virtual and resident size in pages, from `/proc/self/statm` (its first two fields).
    public static func memoryPages(statm: String) -> (virtual: Int, resident: Int)? {
        let fields = statm.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let virtual = Int(fields[0]), let resident = Int(fields[1]) else { return nil }
        return (virtual, resident)
    }

    /// The boot time in Unix seconds, from `/proc/stat`'s `btime` line.
    public static func bootTime(procStat: String) -> Int? {
        for line in procStat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Int(line.dropFirst("btime ".count).trimmingPrefix(while: { $0 == " " }))
        }
        return nil
    }
}
