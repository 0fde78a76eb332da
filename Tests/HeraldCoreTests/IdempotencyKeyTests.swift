import HeraldCore
import Testing

@Suite struct IdempotencyKeyTests {
    @Test(arguments: [
        "a", "order-1234", "550e8400-e29b-41d4-a716-446655440000", "~!{}", String(repeating: "k", count: 200),
    ])
    func validKeysAreKeptAsTheyAre(key: String) {
        #expect(IdempotencyKey.validated(key) == key)
    }

    @Test(arguments: ["", "has space", "tab\t", "line\nbreak", "café", "\u{7F}", String(repeating: "k", count: 201)])
    func anythingElseIsRefused(key: String) {
        #expect(IdempotencyKey.validated(key) == nil)
    }
}
