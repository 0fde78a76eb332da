import Foundation
import HeraldTesting
import Testing

/// `Idempotency-Key` with Redis: the key is kept by the publish script, so a retry through
/// another node (one Redis, or a Redis Cluster) is still published once.
@Suite(.enabled(if: RedisServerProcess.isAvailable, "needs redis-server"), .timeLimit(.minutes(1)))
struct RedisIdempotentPublishTests {
    @Test
    func onRedisAcrossNodes() async throws {
        let bed = try await RedisTestbed.start()
        defer { bed.stop() }
        try await IdempotentPublishTests.aRetryIsPublishedOnce(first: bed.a, retry: bed.b)
    }

    @Test
    func onARedisClusterAcrossNodes() async throws {
        let cluster = try await RedisClusterProcess.start(masters: 3)
        defer { cluster.stop() }
        let nodes = try await RedisClusterNodeTests.nodes(2, on: cluster)
        defer { for node in nodes { node.stop() } }
        try await IdempotentPublishTests.aRetryIsPublishedOnce(first: nodes[0], retry: nodes[1])
    }
}
