import Metrics

/// What the Redis client counts, through swift-metrics (a no-op unless the process bootstraps a
/// metrics backend, as `herald serve` does with Prometheus). Made per connection, so a connection
/// opened after the process chose its backend reports to it.
struct RedisMetrics: Sendable {
    /// Commands written, a pipelined batch counting each of its commands.
    let commands = Counter(label: "herald_redis_commands_total")
    /// Error replies, and commands failed by a lost connection or a timeout.
    let errors = Counter(label: "herald_redis_errors_total")
    /// Connections re-established after one was lost or could not be opened.
    let reconnects = Counter(label: "herald_redis_reconnects_total")
    /// From writing a command to its reply (a batch: to its last reply).
    let roundTrip = Timer(label: "herald_redis_command_duration_seconds")
}
