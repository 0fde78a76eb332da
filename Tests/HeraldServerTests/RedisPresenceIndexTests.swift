import Testing

@testable import HeraldServer

/// A run's index names each presence entry it wrote, so a live node can remove a dead run's.
@Suite struct RedisPresenceIndexTests {
    @Test func everyEntryIsReadBackFromItsIndexMember() {
        for user in ["42", "", "a b", "with\nline", "u", "c"] {
            #expect(RedisPresence.entry(of: RedisPresence.userMember(user)) == .user(user))
            for channel in ["lobby", "room:1", "ü", ""] {
                #expect(
                    RedisPresence.entry(of: RedisPresence.channelMember(channel, user)) == .channel(channel, user: user)
                )
            }
        }
        #expect(RedisPresence.entry(of: "") == nil)
        #expect(RedisPresence.entry(of: "x42") == nil)
        #expect(RedisPresence.entry(of: "cno-line-break") == nil)
    }
}
