#!/usr/bin/env python3
"""The origin bench/compare puts behind Pushpin: Pushpin holds no channel of its own, so every
subscriber request goes to an origin that tells it, with GRIP, which channel to hold it on.

  GET  /ev/<channel>   an EventSource stream: `Grip-Hold: stream`, `Grip-Channel: <channel>`
  POST /ws/<channel>   WebSocket-over-HTTP (the route has `over_http`): the OPEN event is answered
                       with OPEN and a `subscribe` control message for <channel>; later events
                       (a client's close) get an empty answer.

Publishing goes straight to Pushpin's HTTP publish API, not through here, so this process only
sees each subscriber once. Usage: pushpin-origin.py PORT
"""
import http.server
import socketserver
import sys


class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def channel(self):
        return self.path.rsplit("/", 1)[-1].split("?", 1)[0]

    def answer(self, headers, body):
        self.send_response(200)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(
            [("Content-Type", "text/event-stream"), ("Grip-Hold", "stream"), ("Grip-Channel", self.channel())],
            b":\n\n",
        )

    def do_POST(self):
        events = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b""
        if events.startswith(b"OPEN"):
            control = ('c:{"type":"subscribe","channel":"%s"}' % self.channel()).encode()
            body = b"OPEN\r\nTEXT %x\r\n%s\r\n" % (len(control), control)
        self.answer([("Content-Type", "application/websocket-events"), ("Sec-WebSocket-Extensions", "grip")], body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 4096


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Origin).serve_forever()
