import Testing

@testable import HeraldCore

/// The figures behind `process_cpu_seconds_total`, `process_start_time_seconds` and the memory
/// gauges, read out of `/proc` texts.
@Suite struct ProcessFiguresTests {
    /// A `/proc/self/stat` line as Linux writes it: utime 250 and stime 75 (fields 14, 15), the
    /// children's 7 and 9 (16, 17), which are not ours, and starttime 3299083 (22).
    static func stat(name: String, utime: String = "250", stime: String = "75", start: String = "3299083") -> String {
        "4242 (\(name)) S 1 4242 4242 0 -1 4194560 1520 0 3 0 \(utime) \(stime) 7 9 20 0 6 0 \(start) 3133440 356 "
            + "18446744073709551615 93995504345088 93995504364969 140734803670624 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
            + "93995504380976 93995504382592 93996008423424 140734803675855 140734803675875 140734803675875 "
            + "140734803677163 0\n"
    }

    @Test func cpuIsUserPlusSystemTimeWithoutTheChildrensAndStartIsField22() throws {
        let figures = try #require(ProcessFigures.cpuAndStart(stat: Self.stat(name: "herald")))
        #expect(figures.cpuTicks == 325)
        #expect(figures.startTicks == 3_299_083)
    }

    @Test(arguments: ["my herald", "a) S 1 2 3", "(x)", ") ) )", "", "herald:node 1"])
    func aCommandNameWithSpacesOrParenthesesDoesNotShiftTheFields(name: String) throws {
        let figures = try #require(ProcessFigures.cpuAndStart(stat: Self.stat(name: name)), "\(name)")
        #expect(figures.cpuTicks == 325, "\(name)")
        #expect(figures.startTicks == 3_299_083, "\(name)")
    }

    @Test func aRealLineFromThisKernelReads() throws {
        let line =
            "10842 (cat) R 10840 10840 9297 0 -1 4194304 98 0 0 0 1 2 0 0 20 0 1 0 3299083 3133440 356 "
            + "18446744073709551615 93995504345088 93995504364969 140734803670624 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let figures = try #require(ProcessFigures.cpuAndStart(stat: line))
        #expect(figures.cpuTicks == 3)
        #expect(figures.startTicks == 3_299_083)
    }

    @Test func malformedStatLinesGiveNothing() {
        let truncated = "4242 (herald) S 1 4242 4242 0 -1 4194560 1520 0 3 0 250 75 7 9 20 0 6 0"  // no field 22
        let cases = [
            "", "4242", "4242 herald S 1 2 3", "4242 (herald)", "4242 (herald) ", truncated,
            Self.stat(name: "herald", utime: "x"), Self.stat(name: "herald", stime: "7.5"),
            Self.stat(name: "herald", start: "soon"),
        ]
        for text in cases {
            #expect(ProcessFigures.cpuAndStart(stat: text) == nil, "\(text)")
        }
    }

    @Test(arguments: ["765 405 377 5 0 123 0\n", "765 405 377 5 0 123 0", "765 405", "765\n405\n"])
    func memoryIsTheFirstTwoStatmFields(statm: String) throws {
        let pages = try #require(ProcessFigures.memoryPages(statm: statm))
        #expect(pages.virtual == 765)
        #expect(pages.resident == 405)
    }

    @Test(arguments: ["", "\n", "765", "765\n", "765 x 377", "big 405", "765.5 405", "-"])
    func malformedStatmGivesNothing(statm: String) {
        #expect(ProcessFigures.memoryPages(statm: statm) == nil)
    }

    @Test func bootTimeIsTheBtimeLineOfProcStat() {
        let procStat = """
            cpu  10132153 290696 3084719 46828483 16683 0 25195 0 0 0
            cpu0 1393280 32966 572056 13343292 6130 0 17875 0 0 0
            intr 199292 23 0 0 0
            ctxt 19803312
            btime 1796118293
            processes 10840
            procs_running 2

            """
        #expect(ProcessFigures.bootTime(procStat: procStat) == 1_796_118_293)
        #expect(ProcessFigures.bootTime(procStat: "btime 1796118293") == 1_796_118_293)
        #expect(ProcessFigures.bootTime(procStat: "btime   42\n") == 42)
    }

    @Test(arguments: [
        "", "cpu  1 2 3\nctxt 5\n", "btime\n", "btime \n", "btime soon\n", "btimes 5\n", "xbtime 5\n", " btime 5\n",
        "btime 5.5\n",
    ])
    func aProcStatWithoutAReadableBtimeGivesNothing(procStat: String) {
        #expect(ProcessFigures.bootTime(procStat: procStat) == nil)
    }
}
