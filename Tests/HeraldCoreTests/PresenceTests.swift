import HeraldCore
import Testing

/// Who is online on one node, and how `/presence` renders it.
@Suite struct PresenceCountsTests {
    @Test func aConnectionCountsOnceForItsUserAndOnceOnEachChannel() {
        var counts = PresenceCounts(tracksChanges: false)
        counts.joined("42", channels: ["a", "b"], newConnection: true)
        #expect(counts.connections(of: "42") == 1)
        #expect(counts.connections(of: "42", on: "a") == 1)
        #expect(counts.connections(of: "42", on: "c") == 0)
        // A second tab on one of the channels.
        counts.joined("42", channels: ["a"], newConnection: true)
        #expect(counts.connections(of: "42") == 2)
        #expect(counts.channels["a"] == ["42": 2])
        #expect(counts.channels["b"] == ["42": 1])
        // The first tab's channel b is deleted: it stays connected on a.
        counts.left("42", channels: ["b"], connectionEnded: false)
        #expect(counts.channels["b"] == nil)
        #expect(counts.connections(of: "42") == 2)
        counts.left("42", channels: ["a"], connectionEnded: true)
        counts.left("42", channels: ["a"], connectionEnded: true)
        #expect(counts.users.isEmpty)
        #expect(counts.channels.isEmpty)
        // Leaving more than joined never goes below nothing.
        counts.left("42", channels: ["a"], connectionEnded: true)
        #expect(counts.users.isEmpty && counts.channels.isEmpty)
    }

    @Test func changesAreWhatMovedSinceTheLastTakeWithTheirCountsNow() {
        var counts = PresenceCounts(tracksChanges: true)
        counts.joined("1", channels: ["a"], newConnection: true)
        counts.joined("2", channels: ["a", "b"], newConnection: true)
        counts.left("2", channels: ["a", "b"], connectionEnded: true)
        let first = counts.takeChanges()
        #expect(Set(first.users.map { "\($0.user)=\($0.connections)" }) == ["1=1", "2=0"])
        #expect(
            Set(first.channels.map { "\($0.channel)/\($0.user)=\($0.connections)" }) == ["a/1=1", "a/2=0", "b/2=0"])
        #expect(counts.takeChanges().isEmpty)
        // A failed write is taken again, with the counts as they are by then.
        counts.joined("1", channels: ["a"], newConnection: true)
        let second = counts.takeChanges()
        counts.left("1", channels: ["a"], connectionEnded: true)
        _ = counts.takeChanges()
        counts.restore(second)
        let retried = counts.takeChanges()
        #expect(retried.users.map { "\($0.user)=\($0.connections)" } == ["1=1"])
        #expect(retried.channels.map { "\($0.channel)/\($0.user)=\($0.connections)" } == ["a/1=1"])
        let everything = counts.everything()
        #expect(everything.users.map(\.user) == ["1"])
    }

    @Test func withoutTrackingNothingAccumulates() {
        var counts = PresenceCounts(tracksChanges: false)
        for i in 0..<100 { counts.joined("\(i)", channels: ["a"], newConnection: true) }
        #expect(counts.takeChanges().isEmpty)
        counts.restore(PresenceChanges(users: [("x", 1)]))
        #expect(counts.takeChanges().isEmpty)
    }
}

@Suite struct PresenceRendererTests {
    @Test func aChannelsUsersInEveryFormat() {
        let users = ["43": 1, "42": 2, "gone": 0]
        #expect(
            PresenceRenderer.channel("lobby", users: users, as: .json)
                == #"{"channel": "lobby", "users": 2, "connections": 3, "online": [{"user": "42", "connections": 2}, {"user": "43", "connections": 1}]}"#
                + "\r\n")
        #expect(
            PresenceRenderer.channel("lobby", users: users, as: .plain)
                == "channel: lobby\r\nusers: 2\r\nconnections: 3\r\nonline: \r\nuser: 42, connections: 2\r\n"
                + "user: 43, connections: 1\r\n")
        #expect(
            PresenceRenderer.channel("lobby", users: users, as: .yaml)
                == "channel: lobby\r\nusers: 2\r\nconnections: 3\r\nonline:\r\n - user: \"42\"\r\n   connections: 2\r\n"
                + " - user: \"43\"\r\n   connections: 1\r\n")
        #expect(
            PresenceRenderer.channel("lobby", users: users, as: .xml)
                == "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<presence>\r\n  <channel>lobby</channel>\r\n"
                + "  <users>2</users>\r\n  <connections>3</connections>\r\n  <online>\r\n"
                + "    <user connections=\"2\">42</user>\r\n    <user connections=\"1\">43</user>\r\n  </online>\r\n"
                + "</presence>\r\n")
        #expect(
            PresenceRenderer.channel("empty", users: [:], as: .yaml)
                == "channel: empty\r\nusers: 0\r\nconnections: 0\r\nonline: []\r\n")
    }

    @Test func aUserInEveryFormat() {
        #expect(
            PresenceRenderer.user("42", connections: 2, as: .json)
                == #"{"user": "42", "online": true, "connections": 2}"# + "\r\n")
        #expect(
            PresenceRenderer.user("42", connections: 0, as: .plain) == "user: 42\r\nonline: false\r\nconnections: 0\r\n"
        )
        #expect(
            PresenceRenderer.user("42", connections: 1, as: .yaml)
                == "user: \"42\"\r\nonline: true\r\nconnections: 1\r\n")
        #expect(
            PresenceRenderer.user("a&b", connections: 1, as: .xml)
                == "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<presence>\r\n  <user>a&amp;b</user>\r\n"
                + "  <online>true</online>\r\n  <connections>1</connections>\r\n</presence>\r\n")
    }

    @Test func namesAreEscapedSoEveryBodyStaysValid() {
        let odd = "qu\"o\\te\nline"
        #expect(PresenceRenderer.user(odd, connections: 1, as: .json).hasPrefix(#"{"user": "qu\"o\\te\nline""#))
        #expect(PresenceRenderer.user(odd, connections: 1, as: .plain).hasPrefix("user: qu\"o\\te\\x0aline\r\n"))
        #expect(PresenceRenderer.channel("c", users: [odd: 1], as: .yaml).contains(#" - user: "qu\"o\\te\nline""#))
        #expect(PresenceRenderer.channel("<c>", users: [:], as: .xml).contains("<channel>&lt;c&gt;</channel>"))
    }
}
