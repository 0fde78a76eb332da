import HeraldCore
import NIOCore

/// Receives the messages of the channels this node hosts, in id order per channel.
extension MessageSink {
    /// Messages of `channel` are gone before the next one delivered (see the requirement).
    func deliverGap(_ channel: String, resumeAt point: StreamPoint) {
        deliverGap(channel, resumeAt: point, idsReused: false)
    }
}

public protocol MessageSink: AnyObject, Sendable {
    /// Called serially per channel, in increasing id order.
    func deliver(_ message: Message)
    /// The channel was deleted; its subscribers get `notice` and are let go.
    func channelDeleted(_ channel: String, notice: Message)
    /// Messages of `channel` are gone before the next one delivered (Redis lost them, or its ids
    /// restarted): subscribers get the id -4 notice and then stand at `point`, the point right
    /// before the messages that follow. With `idsReused`, Redis handed out again ids some
    /// subscribers saw (it lost their messages): those at a higher id than `point` stand at
    /// `point` too, and take the new messages under those ids.
    func deliverGap(_ channel: String, resumeAt point: StreamPoint, idsReused: Bool)
    /// This node's subscriber count of every channel it hosts (for cluster-wide counts).
    func localSubscriberCounts() -> [String: Int]
    /// This node's connections per user on `channel`.
    func localPresence(channel: String) -> [String: Int]
    /// This node's connections of `user`.
    func localPresence(user: String) -> Int
    /// Presence entries changed since the last call (everything with `everything`), for writing.
    func takePresenceChanges(everything: Bool) -> PresenceChanges
    /// Writing `changes` failed: they are taken again next time.
    func restorePresenceChanges(_ changes: PresenceChanges)
}

/// Where messages are stored and how they travel between nodes. The transports and the
/// registry never know which engine runs: `memory` for one node, `redis` for a cluster.
public protocol MessageEngine: Sendable {
    /// Wires the engine to the node's subscriber registry. Called once, before any other call.
    func attach(_ sink: any MessageSink)

    /// Publishes into every channel of the request (creating missing ones); one message per channel.
    func publish(_ request: PublishRequest, on loop: any EventLoop) -> EventLoopFuture<[Publication]>

    /// Deletes the channels that exist and tells their subscribers; returns the deleted ones.
    func delete(_ channels: [String], notice: [UInt8], on loop: any EventLoop) -> EventLoopFuture<[String]>

    /// The records of the given channels, `nil` for those that do not exist.
    func records(_ channels: [String], on loop: any EventLoop) -> EventLoopFuture<[ChannelRecord?]>

    /// Every channel whose id starts with `prefix` (all when empty), in creation order.
    func records(prefix: String, on loop: any EventLoop) -> EventLoopFuture<[ChannelRecord]>

    /// Creates the channels that do not exist yet (a subscriber joining), honouring channel limits.
    func create(_ channels: [String], on loop: any EventLoop) -> EventLoopFuture<Void>

    /// The stored messages of a channel, for catch-up.
    func backlog(_ channel: String, on loop: any EventLoop) -> EventLoopFuture<ChannelBacklog>

    /// Starts delivering `channel`'s messages to the sink; the future completes once every message
    /// published after it will be delivered (so a backlog read after it misses nothing).
    ///
    /// It may carry the channel's backlog, read once live delivery had begun (nil when the engine
    /// read none): a subscriber registered before hosting began catches up from it and saves a
    /// read of its own. Subscribers that joined while the hosting was under way must read anew.
    func host(_ channel: String, on loop: any EventLoop) -> EventLoopFuture<ChannelBacklog?>

    /// Stops delivering `channel` (its last local subscriber left).
    func release(_ channel: String)

    /// Server-wide counts for `/channels-stats`.
    func totals(on loop: any EventLoop) -> EventLoopFuture<EngineTotals>

    /// Records that a channel had activity (a subscriber joined or left), for inactivity expiry.
    func touch(_ channels: [String])

    /// Publishes a subscriber event (`client_subscribed`, `client_unsubscribed`) to the events
    /// channel, if any, naming the subscriber's user when known.
    func recordSubscriberEvent(_ type: String, channel: String, user: String?)

    /// Whether presence is shared through the engine (a cluster): the registry then keeps track
    /// of what changed, for the engine to write.
    var sharesPresence: Bool { get }

    /// The users online on `channel` (in the whole cluster), with their connection counts.
    func presence(channel: String, on loop: any EventLoop) -> EventLoopFuture<[String: Int]>

    /// How many connections `user` has (in the whole cluster).
    func presence(user: String, on loop: any EventLoop) -> EventLoopFuture<Int>

    /// Starts the engine's timers (expiry, reconnects) on `loop`.
    func start(on loop: any EventLoop)

    /// Stops timers and lets go of resources; completes when done (before the event loops stop).
    func shutdown(on loop: any EventLoop) -> EventLoopFuture<Void>

    /// Whether the engine is connected now (for `/readyz`).
    var isReady: Bool { get }
    /// Whether messages published now reach this node (its delivery probes come back; for `/readyz`).
    var isDelivering: Bool { get }
    /// Whether nodes register themselves with the engine (and are ready only once they appear).
    var registersMembers: Bool { get }

    /// The live nodes of the cluster (this one included once it has registered).
    func members(on loop: any EventLoop) -> EventLoopFuture<[ClusterMember]>

    /// Leaves the cluster's membership (first step of a graceful stop): the ring stops naming this node.
    func leave(on loop: any EventLoop) -> EventLoopFuture<Void>
}

extension MessageEngine {
    public var isReady: Bool { true }

    public var isDelivering: Bool { true }

    public var sharesPresence: Bool { false }

    public var registersMembers: Bool { false }

    /// A single node is the whole cluster.
    public func members(on loop: any EventLoop) -> EventLoopFuture<[ClusterMember]> {
        loop.makeSucceededFuture([])
    }

    public func leave(on loop: any EventLoop) -> EventLoopFuture<Void> {
        loop.makeSucceededVoidFuture()
    }
}
