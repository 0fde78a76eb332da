import HeraldCore
import NIOCore

/// The checks of reference §4 that need the engine: channels that must exist, subscriber limits;
/// then the channels that do not exist yet are created (and counted against the node's limits).
struct SubscriptionValidation {
    let node: NodeContext

    /// Completes on `loop`; fails with the `ProtocolError` the client must see.
    func validate(_ selections: [ChannelSelection], on loop: any EventLoop) -> EventLoopFuture<Void> {
        let settings = node.settings
        if let events = settings.eventsChannelID, !settings.allowConnectionsToEventsChannel,
            selections.contains(where: { $0.channel == events })
        {
            return loop.makeFailedFuture(ProtocolError.eventsChannelSubscriptionNotAllowed)
        }
        let channels = selections.map(\.channel)
        let engine = node.engine
        let registry = node.registry
        // Creating is idempotent (an existing channel is only kept alive): without a check that
        // needs the channels' records, a subscribe skips reading them, a round trip to Redis.
        guard settings.authorizedChannelsOnly || settings.maxSubscribersPerChannel != nil else {
            return engine.create(channels, on: loop).hop(to: loop)
        }
        return engine.records(channels, on: loop).hop(to: loop).flatMapThrowing { records in
            for (channel, record) in zip(channels, records) {
                if settings.authorizedChannelsOnly, (record?.storedMessages ?? 0) == 0,
                    !ChannelPath.isWildcard(channel, prefix: settings.wildcardChannelPrefix)
                {
                    throw ProtocolError.subscriberCannotCreateChannels
                }
                if let max = settings.maxSubscribersPerChannel,
                    record?.subscribers ?? registry.subscriberCount(channel) >= max
                {
                    throw ProtocolError.subscribersLimitExceeded
                }
            }
            return zip(channels, records).filter { $0.1 == nil }.map(\.0)
        }.flatMap { missing in
            missing.isEmpty ? loop.makeSucceededVoidFuture() : engine.create(missing, on: loop).hop(to: loop)
        }
    }
}
