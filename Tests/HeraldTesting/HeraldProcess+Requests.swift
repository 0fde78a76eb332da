import Foundation

/// Requests tests make all the time: publish, delete, stats, subscriber GETs.
extension HeraldProcess {
    /// A request on the admin listener (publisher, stats, health).
    public func admin(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> HTTPResponse {
        try await RawHTTPClient.request(port: adminPort, method, path, headers: headers, body: body)
    }

    /// A request on the public listener (subscribers).
    public func get(
        _ path: String, headers: [(String, String)] = [], timeout: Duration = .seconds(5)
    ) async throws -> HTTPResponse {
        try await RawHTTPClient.request(port: port, "GET", path, headers: headers, timeout: timeout)
    }

    /// A request with any method on the public listener.
    public func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> HTTPResponse {
        try await RawHTTPClient.request(port: port, method, path, headers: headers, body: body)
    }

    /// `POST /pub?id=<channel>` with `text` as the body; fails the call unless 200.
    @discardableResult
    public func publish(
        _ channel: String, _ text: String, eventID: String? = nil, eventType: String? = nil,
        headers: [(String, String)] = []
    ) async throws -> HTTPResponse {
        var headers = headers
        if let eventID { headers.append(("Event-Id", eventID)) }
        if let eventType { headers.append(("Event-Type", eventType)) }
        let response = try await admin(
            "POST", "/pub?id=\(Query.encode(channel))", headers: headers, body: Array(text.utf8))
        guard response.status == 200 else { throw HarnessError("publish to \(channel) answered \(response)") }
        return response
    }

    /// Publishes `texts` in order on one keep-alive connection.
    public func publishAll(_ channel: String, _ texts: [String]) async throws {
        let adminPort = self.adminPort
        try await Blocking.run {
            let client = try RawHTTPClient(port: adminPort)
            defer { client.close() }
            for text in texts {
                let response = try client.request("POST", "/pub?id=\(Query.encode(channel))", body: Array(text.utf8))
                guard response.status == 200 else { throw HarnessError("publish \(text) answered \(response.status)") }
            }
        }
    }

    /// `/channels-stats` with an optional `id` and `Accept`.
    public func stats(_ id: String? = nil, accept: String? = nil) async throws -> HTTPResponse {
        let path = id.map { "/channels-stats?id=\(Query.encode($0))" } ?? "/channels-stats"
        return try await admin("GET", path, headers: accept.map { [("Accept", $0)] } ?? [])
    }

    /// The JSON body of a stats or channel-info answer.
    public func statsJSON(_ id: String? = nil) async throws -> [String: Any] {
        try JSON.object(try await stats(id).body)
    }

    /// Polls the stats of `channel` until its subscriber count is `count` (subscriptions are
    /// asynchronous: a stream's head can arrive before it is registered).
    public func waitForSubscribers(
        _ channel: String, count: Int, timeout: Duration = .seconds(5)
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let response = try await stats(channel)
            if response.status == 200, let object = try? JSON.object(response.body),
                (object["subscribers"] as? NSNumber)?.intValue == count
            {
                return true
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// Query-string encoding as `encodeURIComponent` does it.
public enum Query {
    /// `text` percent-encoded for a query value.
    public static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-_.!~*'()/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// `JSONSerialization` shortcuts that fail with the offending text.
public enum JSON {
    /// `bytes` parsed as a JSON object; throws with the text if it is not one.
    public static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw HarnessError("not a JSON object: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
        return object
    }

    /// A JSON number as an `Int`, nil if `value` is not a number.
    public static func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
}

extension HeraldProcess {
    /// `GET /metrics` on the admin listener, read back.
    public func metrics(headers: [(String, String)] = []) async throws -> PrometheusScrape {
        let response = try await admin("GET", "/metrics", headers: headers)
        guard response.status == 200 else { throw HarnessError("metrics: \(response)") }
        return PrometheusScrape(response.text)
    }
}
