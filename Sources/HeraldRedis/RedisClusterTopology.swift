import Logging
import NIOCore

/// Finds out which master serves which slots: asks the seeds, one after another, for
/// `CLUSTER SLOTS` on a short-lived connection of its own, until one answers with a map that
/// covers every slot. The cluster client refreshes its map the same way after a `MOVED` or a
/// lost shard.
public enum RedisClusterTopology {
    /// The slot map from the first seed that gives a complete one; fails with the last seed's
    /// error (or ``RedisError/protocolViolation(_:)`` for an incomplete map) when none does.
    ///
    /// A seed's user, password and database apply to the connection that asks it; the masters
    /// the map names are reached with the same credentials.
    public static func discover(
        seeds: [RedisURL], on group: any EventLoopGroup, timeout: TimeAmount = .seconds(2), logger: Logger
    ) -> EventLoopFuture<RedisSlotMap> {
        let loop = group.next()
        guard !seeds.isEmpty else {
            return loop.makeFailedFuture(RedisError.protocolViolation("no Redis Cluster seed given"))
        }
        return ask(seeds, index: 0, lastError: nil, on: group, timeout: timeout, logger: logger).hop(to: loop)
    }

    private static func ask(
        _ seeds: [RedisURL], index: Int, lastError: RedisError?, on group: any EventLoopGroup, timeout: TimeAmount,
        logger: Logger
    ) -> EventLoopFuture<RedisSlotMap> {
        guard index < seeds.count else {
            return group.next().makeFailedFuture(lastError ?? RedisError.protocolViolation("no seed answered"))
        }
        let seed = seeds[index]
        let answer = RedisConnection.connect(
            to: seed, on: group, connectTimeout: timeout, commandTimeout: timeout, logger: logger
        ).flatMap { connection in
            connection.send(["CLUSTER", "SLOTS"]).always { _ in _ = connection.close() }
        }.flatMapThrowing { reply -> RedisSlotMap in
            guard let map = RedisSlotMap(clusterSlots: reply, seedHost: seed.host), map.coversAllSlots else {
                throw RedisError.protocolViolation("\(seed.address) does not serve every slot yet").at(seed.address)
            }
            return map
        }
        return answer.flatMapError { error in
            let redisError = (error as? RedisError) ?? RedisError.connectFailed("\(error)").at(seed.address)
            logger.debug(
                "redis cluster seed gave no slot map",
                metadata: ["redis.address": "\(seed.address)", "redis.error": "\(redisError)"])
            return ask(
                seeds, index: index + 1, lastError: redisError, on: group, timeout: timeout, logger: logger)
        }
    }
}
