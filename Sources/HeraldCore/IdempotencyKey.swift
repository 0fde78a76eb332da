/// A publisher's `Idempotency-Key` (the header of `/pub`, the publisher library's and
/// `herald publish`'s option): 1 to ``maxLength`` visible ASCII characters, so it goes into a
/// Redis key name and a log line as it is.
public enum IdempotencyKey {
    public static let maxLength = 200

    /// `value` if it is a valid key, else nil.
    public static func validated(_ value: String) -> String? {
        let bytes = value.utf8
        guard (1...maxLength).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return nil
        }
        return value
    }
}
