import HeraldCore
import HeraldPublisher
import HeraldRedis

/// The cluster-wide lists a node keeps for a Redis Cluster, where the sharded scripts may touch
/// only their channel's slot (docs/REDIS.md): the channel listing (`herald:channels`), the live
/// sets the channel limit and the totals count (`herald:live`, `herald:live:wildcard`), and the
/// published-messages total (`herald:stats`). The node notes what its own publishes and creates
/// did, and writes it once a second with its heartbeat, so no publish pays a second round trip
/// to the one shard those keys live on.
///
/// Pure: the engine feeds it results, sends the commands it returns, and hands back the replies
/// of the counts.
struct ClusterLedger: Sendable {
    let keys: RedisKeys
    let wildcardChannelPrefix: String?
    /// How long a channel outlives its last publish (its `meta`'s expiry), in seconds.
    let channelRetention: Int64
    let maxNumberOfChannels: Int?
    let maxNumberOfWildcardChannels: Int?

    /// Channels created since the last beat, with when (Unix ms: the listing's order).
    private(set) var created: [String: Int64] = [:]
    /// Channels whose `meta` expiry this node moved since the last beat, with the Unix second it
    /// now expires at.
    private(set) var expiries: [String: Int64] = [:]
    /// Messages published through this node since the last beat.
    private(set) var published: Int64 = 0
    /// What the live sets held at the last count: new channels of a full kind are refused.
    private(set) var refusal = HeraldPublisher.NewChannelRefusal.none

    /// Most members one `ZADD` carries.
    static let chunk = 500

    init(settings: HeraldPublisher.Settings) {
        keys = settings.keys
        wildcardChannelPrefix = settings.wildcardChannelPrefix
        channelRetention = settings.channelRetention
        maxNumberOfChannels = settings.maxNumberOfChannels
        maxNumberOfWildcardChannels = settings.maxNumberOfWildcardChannels
    }

    /// A message published to `channel` (its id 1 made the channel) at `nowMilliseconds`.
    mutating func published(_ channel: String, id: Int64, nowMilliseconds: Int64) {
        published += 1
        if id == 1 { created[channel] = created[channel] ?? nowMilliseconds }
        expiries[channel] = nowMilliseconds / 1000 + channelRetention
    }

    /// `channel` created or kept alive by a subscriber: it now lives `lifetime` more seconds.
    mutating func kept(_ channel: String, created isNew: Bool, lifetime: Int, nowMilliseconds: Int64) {
        if isNew { created[channel] = created[channel] ?? nowMilliseconds }
        expiries[channel] = max(expiries[channel] ?? 0, nowMilliseconds / 1000 + Int64(lifetime))
    }

    /// The commands that drop deleted channels from the lists at once (a channel limit must not
    /// keep counting them for a second).
    mutating func deleted(_ channels: [String]) -> [[RedisArgument]] {
        guard !channels.isEmpty else { return [] }
        for channel in channels {
            created[channel] = nil
            expiries[channel] = nil
        }
        let names = channels.map { RedisArgument($0) }
        return [
            ["ZREM", RedisArgument(keys.channels)] + names, ["ZREM", RedisArgument(keys.live)] + names,
            ["ZREM", RedisArgument(keys.liveWildcard)] + names,
        ]
    }

    /// What accumulated since the last beat, as commands, followed by the live sets' cleanup and
    /// counts: the last two commands' replies go to ``counted(_:)``.
    mutating func beat(nowMilliseconds: Int64) -> [[RedisArgument]] {
        var commands: [[RedisArgument]] = []
        let listing = created.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
        for part in stride(from: 0, to: listing.count, by: Self.chunk) {
            let members = listing[part..<min(part + Self.chunk, listing.count)]
            commands.append(
                ["ZADD", RedisArgument(keys.channels), "NX"]
                    + members.flatMap { [RedisArgument(Int($0.value)), RedisArgument($0.key)] })
        }
        for (key, wildcard) in [(keys.live, false), (keys.liveWildcard, true)] {
            let members = expiries.filter { isWildcard($0.key) == wildcard }.sorted { $0.key < $1.key }
            for part in stride(from: 0, to: members.count, by: Self.chunk) {
                let slice = members[part..<min(part + Self.chunk, members.count)]
                // GT: a later expiry written by another node is never moved back.
                commands.append(
                    ["ZADD", RedisArgument(key), "GT"]
                        + slice.flatMap { [RedisArgument(Int($0.value)), RedisArgument($0.key)] })
            }
        }
        if published > 0 {
            commands.append(["HINCRBY", RedisArgument(keys.stats), "published_messages", RedisArgument(Int(published))])
        }
        let now = RedisArgument(Int(nowMilliseconds / 1000))
        commands.append(["ZREMRANGEBYSCORE", RedisArgument(keys.live), "-inf", now])
        commands.append(["ZREMRANGEBYSCORE", RedisArgument(keys.liveWildcard), "-inf", now])
        commands.append(["ZCARD", RedisArgument(keys.live)])
        commands.append(["ZCARD", RedisArgument(keys.liveWildcard)])
        created = [:]
        expiries = [:]
        published = 0
        return commands
    }

    /// The replies of the two counts ``beat(nowMilliseconds:)`` ends with. A count that did not
    /// arrive leaves the refusal as it was.
    mutating func counted(_ replies: [RESPValue]) {
        guard replies.count == 2, let channels = replies[0].int, let wildcard = replies[1].int else { return }
        refusal = HeraldPublisher.NewChannelRefusal(
            channels: maxNumberOfChannels.map { channels >= $0 } ?? false,
            wildcardChannels: maxNumberOfWildcardChannels.map { wildcard >= $0 } ?? false)
    }

    private func isWildcard(_ channel: String) -> Bool {
        ChannelPath.isWildcard(channel, prefix: wildcardChannelPrefix)
    }
}
