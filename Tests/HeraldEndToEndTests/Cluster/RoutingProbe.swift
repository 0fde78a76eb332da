import Foundation
import HeraldTesting

/// Asks nginx where it routes subscriber paths: one polling request per path (answered at once),
/// over a few keep-alive connections, reading `X-Herald-Node` off each answer.
enum RoutingProbe {
    struct Answer: Sendable {
        var path: RoutedPath
        var request: String
        var status: Int
        var node: String?
    }

    /// The subscriber locations, in turn: nginx routes all of them by the first channel.
    static let prefixes = ["lp", "sub", "ev", "jsonp"]

    static func route(_ paths: [RoutedPath], port: UInt16, connections: Int = 4) async throws -> [Answer] {
        let slices = (0..<connections).map { slice in
            Array(paths.enumerated().filter { $0.offset % connections == slice })
        }
        return try await withThrowingTaskGroup(of: [(Int, Answer)].self) { group in
            for slice in slices {
                group.addTask {
                    try await Blocking.run { try probe(slice, port: port) }
                }
            }
            var answers: [(Int, Answer)] = []
            for try await part in group { answers += part }
            return answers.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private static func probe(_ slice: [(offset: Int, element: RoutedPath)], port: UInt16) throws -> [(Int, Answer)] {
        var client = try RawHTTPClient(port: port)
        defer { client.close() }
        var answers: [(Int, Answer)] = []
        for (index, path) in slice {
            let request = path.requestPath(prefix: prefixes[index % prefixes.count], light: index % 3 == 1)
            let headers = [("X-Nginx-PushStream-Mode", "polling")]
            let response: HTTPResponse
            do {
                response = try client.request("GET", request, headers: headers)
            } catch {
                // nginx closes a keep-alive connection after so many requests: once more on a new one.
                client.close()
                client = try RawHTTPClient(port: port)
                response = try client.request("GET", request, headers: headers)
            }
            if response.headers["Connection"]?.lowercased() == "close" {
                client.close()
                client = try RawHTTPClient(port: port)
            }
            answers.append(
                (
                    index,
                    Answer(
                        path: path, request: request, status: response.status, node: response.headers["X-Herald-Node"])
                ))
        }
        return answers
    }
}
