import FuzzSupport
import HeraldCore

/// Any raw path, under limits taken from the first bytes: parsing never traps, and what it accepts
/// obeys every channel id rule.
@_cdecl("ChannelPathFuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzDriver.run(argc, argv) { data, size in
        check(FuzzDriver.bytes(data, size))
        return 0
    }
}

func check(_ input: UnsafeBufferPointer<UInt8>) {
    guard input.count >= 2 else { return }
    let maxLength = input[0] == 0 ? nil : Int(input[0] % 32)
    let maxChannels = input[1] == 0 ? nil : Int(input[1] % 16)
    let raw = String(decoding: input[2...], as: UTF8.self)
    let limits = ChannelLimits(
        maxChannelIDLength: maxLength, maxChannels: maxChannels, wildcardPrefix: "w_",
        maxWildcardChannels: input[0] & 1 == 0 ? nil : 2, isSubscriber: input[1] & 1 == 0)
    let selections: [ChannelSelection]
    do {
        selections = try ChannelPath.parseValidated(rawPercentEncoded: raw[...], limits: limits)
    } catch {
        return
    }
    FuzzDriver.require(!selections.isEmpty, "accepted no channel")
    FuzzDriver.require(Set(selections.map(\.channel)).count == selections.count, "a channel twice")
    if let maxChannels { FuzzDriver.require(selections.count <= maxChannels, "too many channels") }
    for selection in selections {
        let id = selection.channel.utf8
        FuzzDriver.require(selection.backtrack >= 0, "negative backtrack")
        FuzzDriver.require(selection.channel != "ALL" && !id.contains(UInt8(ascii: "*")), "reserved id")
        FuzzDriver.require(!id.contains(UInt8(ascii: "/")), "a separator in an id")
        if let maxLength { FuzzDriver.require(id.count <= maxLength, "id too long") }
        FuzzDriver.require(
            !id.contains { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") },
            "forbidden byte in \(selection.channel.debugDescription)")
    }
    // Accepted input means decoded valid UTF-8, which the plain parser must read the same way.
    let plain = ChannelPath.parse(PercentDecoding.decode(raw[...]))
    var seen = Set<String>()
    let expected = plain.filter { seen.insert($0.channel).inserted }
    FuzzDriver.require(expected == selections, "disagrees with ChannelPath.parse")
}
