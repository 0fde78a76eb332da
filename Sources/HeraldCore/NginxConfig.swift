/// The nginx configuration in front of a Herald cluster: subscriber locations routed by their
/// first channel with `hash … consistent` (the ring Herald computes too), the publisher spread
/// round-robin, streaming-friendly proxying (no buffering, long timeouts, WebSocket upgrade).
public struct NginxConfig: Sendable {
    /// The upstream's `server` texts: the nodes' public `host:port`, exactly as Herald advertises them.
    public var nodes: [HashRing.Node]
    /// Where nginx listens for browsers and publishers.
    public var listen = "0.0.0.0:9080"
    /// Addresses allowed to publish through `/pub` (nginx `allow` values); everyone else gets 403.
    public var publishAllow = ["127.0.0.1"]
    /// When set, a complete `nginx.conf` keeping its pid, logs and temporary files in this folder
    /// (for running nginx as an ordinary user); else the `http` block only, to include.
    public var runtimeDirectory: String?
    /// `worker_connections` per worker.
    public var workerConnections = 16_384
    /// The site's own server (`host:port`), when nginx also fronts it: every path Herald does not
    /// serve goes there (its pages, its API), so pages, the cookie check's cookies and the push
    /// service share one origin.
    public var site: String?

    public init(nodes: [HashRing.Node]) {
        self.nodes = nodes
    }

    /// The subscriber locations whose first channel picks the node.
    static let subscriberPrefixes = ["sub", "ev", "lp", "jsonp", "ws"]

    public func render() -> String {
        let prefixes = Self.subscriberPrefixes.joined(separator: "|")
        let servers = nodes.map { "server \($0.name)\($0.weight == 1 ? "" : " weight=\($0.weight)");" }
        var http: [String] = [
            "# The first channel of a subscriber path, without its .bN backtrack: the key nginx and",
            "# Herald hash onto the same ring.",
            "map $uri $herald_channel {",
            "    \"~^/(?:\(prefixes))/(?<channel>[^/]*?)(?:\\.b[0-9]+)?(?:/|$)\" $channel;",
            "    default $arg_channels;",
            "}",
            "",
            "map $http_upgrade $herald_connection {",
            "    default upgrade;",
            "    \"\" \"\";",
            "}",
            "",
            "upstream herald_subscribers {",
            "    hash $herald_channel consistent;",
        ]
        http += servers.map { "    " + $0 }
        http += ["}", "", "upstream herald_publishers {"]
        http += servers.map { "    " + $0 }
        http += [
            "    keepalive 32;",
            "}",
            "",
            "server {",
            "    listen \(listen);",
            "",
            "    location ~ ^/(?:\(prefixes))(?:/|$) {",
            "        proxy_pass http://herald_subscribers;",
            "        proxy_http_version 1.1;",
            "        proxy_set_header Upgrade $http_upgrade;",
            "        proxy_set_header Connection $herald_connection;",
            "        proxy_set_header Host $host;",
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "        proxy_buffering off;",
            "        proxy_request_buffering off;",
            "        proxy_cache off;",
            "        proxy_connect_timeout 2s;",
            "        proxy_read_timeout 1h;",
            "        proxy_send_timeout 1h;",
            "        # A dead node: the next point of the ring, as Herald's ring says. A node that is not",
            "        # ready (its /readyz answers 503: draining, or its Redis is gone) answers subscribers",
            "        # 503 too, and the next node takes them; open-source nginx has no active checks.",
            "        proxy_next_upstream error timeout http_503;",
            "    }",
            "",
            "    location = /pub {",
            "        # The nodes also require their publisher key (Authorization: Bearer), passed through.",
        ]
        http += publishAllow.map { "        allow \($0);" }
        http += [
            "        deny all;",
            "        client_max_body_size 1m;",
            "        proxy_pass http://herald_publishers;",
            "        proxy_http_version 1.1;",
            "        proxy_set_header Connection \"\";",
            "        # A POST is retried on another node only if it never reached the first (no double publish).",
            "        proxy_next_upstream error timeout;",
            "    }",
            "",
            "    # The browser client, from any node.",
            "    location = /herald.js {",
            "        proxy_pass http://herald_publishers;",
            "        proxy_http_version 1.1;",
            "        proxy_set_header Connection \"\";",
            "        proxy_next_upstream error timeout;",
            "    }",
        ]
        if let site {
            http += [
                "",
                "    # The site: its pages and API, on the same origin as the push service.",
                "    location / {",
                "        proxy_pass http://\(site);",
                "        proxy_http_version 1.1;",
                "        proxy_set_header Connection \"\";",
                "        proxy_set_header Host $host;",
                "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                "    }",
            ]
        }
        http += ["}"]
        guard let runtime = runtimeDirectory else {
            return (["# Generated by `herald nginx-conf`; include it in nginx's http block."] + http)
                .joined(separator: "\n") + "\n"
        }
        var lines = [
            "# Generated by `herald nginx-conf`.",
            "worker_processes 2;",
            "pid \(runtime)/nginx.pid;",
            "error_log \(runtime)/nginx-error.log warn;",
            "worker_rlimit_nofile 20000;",
            "",
            "events {",
            "    worker_connections \(workerConnections);",
            "}",
            "",
            "http {",
            "    access_log off;",
            "    client_body_temp_path \(runtime)/nginx-body;",
            "    proxy_temp_path \(runtime)/nginx-proxy;",
            "    fastcgi_temp_path \(runtime)/nginx-fastcgi;",
            "    uwsgi_temp_path \(runtime)/nginx-uwsgi;",
            "    scgi_temp_path \(runtime)/nginx-scgi;",
            "",
        ]
        lines += http.map { $0.isEmpty ? "" : "    " + $0 }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
