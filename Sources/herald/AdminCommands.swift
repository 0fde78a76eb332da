import ArgumentParser
import Foundation
import HeraldCore
import HeraldServer
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where a node's admin API is, shared by the commands that query it.
struct AdminEndpoint: ParsableArguments {
    @Option(help: "The node's admin listener (also HERALD_ADMIN_URL).")
    var admin = ProcessInfo.processInfo.environment["HERALD_ADMIN_URL"] ?? "http://127.0.0.1:9081"
    @Option(help: "The node's --admin-key, if it has one (also HERALD_ADMIN_KEY).")
    var adminKey = ProcessInfo.processInfo.environment["HERALD_ADMIN_KEY"] ?? ""
    @Flag(help: "Print the node's JSON answer as it is, instead of a table.") var json = false

    /// `value` for a query argument: everything but ASCII letters, digits and `-._~:*`
    /// percent-encoded (`&`, `=`, `+`, `/`, `%` or UTF-8 in a channel name would change or break
    /// the query otherwise).
    static func queryValue(_ value: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:*")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// The JSON answer of `GET path` (with its query), or a one-line error.
    func get(_ path: String) async throws -> Any? {
        let base = admin.hasSuffix("/") ? String(admin.dropLast()) : admin
        guard let target = AppRequest.Target(base + path) else {
            throw ValidationError("--admin must be http://host:port (got \(admin)).")
        }
        var headers = HTTPHeaders([("Accept", "application/json")])
        if !adminKey.isEmpty { headers.add(name: "Authorization", value: "Bearer \(adminKey)") }
        let group = MultiThreadedEventLoopGroup.singleton
        let answer: AppRequest.Answer
        do {
            answer = try await AppRequest.get(
                target, headers: headers, deadline: .now() + .seconds(5), maxBodyBytes: 64 << 20, keepBody: true,
                on: group.next()
            ).get()
        } catch {
            throw CLIFailure("cannot reach \(base): \(error)")
        }
        let text = String(decoding: answer.body, as: UTF8.self)
        guard answer.head.status == .ok else {
            let explain = answer.head.headers.first(name: "X-Nginx-PushStream-Explain") ?? text
            throw CLIFailure(
                "\(base)\(path): \(answer.head.status.code) \(explain)".trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if json {
            print(text.trimmingCharacters(in: .whitespacesAndNewlines))
            return nil
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(answer.body)) else {
            throw CLIFailure("\(base)\(path): not a JSON answer")
        }
        return value.object
    }
}

/// A failure of a command-line query, printed as one line.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Aligned columns, the first row as the heading.
func printTable(_ rows: [[String]]) {
    guard let first = rows.first else { return }
    let widths = first.indices.map { column in
        rows.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
    }
    for row in rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
        }
        print(cells.joined(separator: "  "))
    }
}

/// A JSON answer as Foundation-free values: strings, numbers (as their text), booleans, arrays
/// and objects. Decoded strictly, so `true` never reads as 1 and `1` never as true.
enum JSONValue: Decodable {
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .number(String(value))
        } else if let value = try? container.decode(Double.self) {
            self = .number(String(value))
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// As `[String: Any]`, `[Any]`, `String` (numbers too), `Bool` or nil.
    var object: Any? {
        switch self {
        case .string(let value), .number(let value): value
        case .bool(let value): value
        case .null: nil
        case .array(let values): values.map(\.object) as [Any?]
        case .object(let values): values.mapValues(\.object) as [String: Any?]
        }
    }
}

func text(_ value: Any??) -> String {
    switch value {
    case let value as String: value
    case let value as Bool: value ? "yes" : "no"
    default: "-"
    }
}

/// `herald stats`: the node's (or cluster's) channel statistics.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show channel statistics from a node's admin API.",
        discussion: """
            Without a channel: the summary (channels, messages, subscribers). With --channel: that channel; \
            --channel ALL lists every channel, and a prefix ending in * lists those it matches.

            Examples:
              herald stats
              herald stats --channel news
              herald stats --admin http://10.0.0.7:9081 --admin-key "$KEY" \\
                --channel 'room:*'
            """
    )

    @OptionGroup var endpoint: AdminEndpoint
    @Option(help: "A channel id, ALL, or a prefix ending in *.") var channel: String?

    func run() async throws {
        let path =
            channel.map { "/channels-stats?id=" + AdminEndpoint.queryValue($0) } ?? "/channels-stats"
        let answer = try await endpoint.get(path)
        guard let object = answer as? [String: Any?] else { return }
        if let infos = object["infos"] as? [Any?] {
            var rows = [["CHANNEL", "PUBLISHED", "STORED", "SUBSCRIBERS"]]
            for case let info as [String: Any?] in infos {
                rows.append([
                    text(info["channel"]), text(info["published_messages"]), text(info["stored_messages"]),
                    text(info["subscribers"]),
                ])
            }
            printTable(rows)
            print("\(infos.count) channel(s) on \(text(object["hostname"]))")
        } else if object["channel"] != nil {
            printTable([
                ["CHANNEL", "PUBLISHED", "STORED", "SUBSCRIBERS"],
                [
                    text(object["channel"]), text(object["published_messages"]), text(object["stored_messages"]),
                    text(object["subscribers"]),
                ],
            ])
        } else {
            let keys = [
                ("hostname", "host"), ("uptime", "uptime (s)"), ("channels", "channels"),
                ("wildcard_channels", "wildcard channels"),
                ("subscribers", "subscribers"), ("published_messages", "published messages"),
                ("stored_messages", "stored messages"),
            ]
            printTable([["FIELD", "VALUE"]] + keys.map { [$0.1, text(object[$0.0])] })
        }
    }
}

/// `herald cluster`: the nodes a node sees and their share of the ring.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Show the cluster's nodes, as one node sees them, with their ring shares.",
        discussion: """
            Examples:
              herald cluster
              herald cluster --admin http://10.0.0.7:9081 --json
            """
    )

    @OptionGroup var endpoint: AdminEndpoint

    func run() async throws {
        let answer = try await endpoint.get("/cluster")
        guard let object = answer as? [String: Any?] else { return }
        print(
            "node \(text(object["node"])) (\(text(object["advertise"]))), engine \(text(object["engine"])), "
                + "draining: \(text(object["draining"])), misrouted subscribers: \(text(object["misrouted_subscribers"]))"
        )
        var rows = [["NODE", "ADVERTISE", "RING SHARE", "FRESH", "SELF"]]
        for case let member as [String: Any?] in object["nodes"] as? [Any?] ?? [] {
            let share =
                (member["ring_share"] as? String).flatMap(Double.init).map { String(format: "%.1f%%", $0 * 100) } ?? "-"
            rows.append([
                text(member["id"]), text(member["advertise"]), share, text(member["fresh"]), text(member["self"]),
            ])
        }
        if rows.count == 1 { print("no registered nodes (single node, memory engine)") } else { printTable(rows) }
    }
}

/// `herald presence`: who is online on a channel, or whether a user is.
struct PresenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presence",
        abstract: "Show who is online on a channel, or whether a user is online.",
        discussion: """
            Examples:
              herald presence --channel room:lobby
              herald presence --user 42
            """
    )

    @OptionGroup var endpoint: AdminEndpoint
    @Option(help: "A channel: its online users and their connections.") var channel: String?
    @Option(help: "A user id: online or not, on how many connections.") var user: String?

    func validate() throws {
        if (channel == nil) == (user == nil) { throw ValidationError("Give --channel or --user.") }
    }

    func run() async throws {
        let path =
            channel.map { "/presence?id=" + AdminEndpoint.queryValue($0) }
            ?? "/presence?user=" + AdminEndpoint.queryValue(user ?? "")
        let answer = try await endpoint.get(path)
        guard let object = answer as? [String: Any?] else { return }
        if let online = object["online"] as? [Any?] {
            var rows = [["USER", "CONNECTIONS"]]
            for case let entry as [String: Any?] in online {
                rows.append([text(entry["user"]), text(entry["connections"])])
            }
            printTable(rows)
            print(
                "\(text(object["users"])) user(s) on \(text(object["connections"])) connection(s) in \(text(object["channel"]))"
            )
        } else {
            print(
                "user \(text(object["user"])): \(text(object["online"]) == "yes" ? "online" : "offline"), "
                    + "\(text(object["connections"])) connection(s)")
        }
    }
}

/// `herald version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print Herald's version.",
        discussion: """
            Example:
              herald version
            """)

    func run() {
        print("herald \(HeraldVersion.string)")
    }
}
