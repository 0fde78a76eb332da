/// libFuzzer's entry point when the program owns `main` (declared in `FuzzerInterface.h`).
@_silgen_name("LLVMFuzzerRunDriver")
private func runLibFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ testOneInput: FuzzDriver.TestOneInput
) -> Int32

/// Runs a libFuzzer target from a SwiftPM executable.
///
/// SwiftPM renames an executable's `main` to `<Target>_main`, so each target defines that symbol
/// itself and hands libFuzzer its test function here:
///
/// ```swift
/// @_cdecl("MyFuzz_main")
/// func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
///     FuzzDriver.run(argc, argv) { data, size in
///         check(FuzzDriver.bytes(data, size))
///         return 0
///     }
/// }
/// ```
public enum FuzzDriver {
    /// One input: its bytes and their count; returns 0 (non-zero values are reserved by libFuzzer).
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

    /// Hands the command line to libFuzzer, which calls `testOneInput` for every input it tries.
    public static func run(
        _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, _ testOneInput: TestOneInput
    ) -> Int32 {
        var argc = argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
        return runLibFuzzerDriver(&argc, &argv, testOneInput)
    }

    /// The input as a buffer (libFuzzer may pass a null pointer for the empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: size > 0 ? data : nil, count: size)
    }

    /// Stops the run with `message` when an invariant fails: libFuzzer saves the input as a crash.
    public static func require(
        _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, line: UInt = #line
    ) {
        if !condition() { fatalError("invariant failed: \(message())", line: line) }
    }
}
