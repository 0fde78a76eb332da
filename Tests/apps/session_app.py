#!/usr/bin/env python3
"""A small site for the cookie check tests: it keeps its users' sessions and answers Herald's
`--auth-url` check the way a real site would, and counts what Herald asked.

    python3 session_app.py PORT

GET  /login?user=42          -> sets the session cookie `sid`, body: the session id
GET  /logout                 -> ends the session of the cookie sent
GET  /check                  -> the cookie check (Herald's --auth-url)
GET  /stats                  -> JSON: checks asked, the most asked at once for one session, the
                                last question's headers
POST /behave?delay=S&status=N&channels=LIST&expires=T
                             -> how /check answers from now on (delay in seconds; status other
                                than 200; X-Herald-Channels; X-Herald-Expires)
GET  /healthz                -> 200
"""
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

lock = threading.Lock()
sessions = {}  # session id -> user
behaviour = {"delay": 0.0, "status": 200, "channels": None, "expires": None}
stats = {"checks": 0, "max_in_flight_per_session": 0, "max_in_flight": 0, "last": {}}
in_flight = {}  # session id (or "") -> checks being answered
in_flight_total = [0]


def session_of(cookie_header):
    for part in (cookie_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "sid":
            return value
    return ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if url.path != "/behave":
            return self.answer(404)
        with lock:
            behaviour["delay"] = float(query.get("delay", 0))
            behaviour["status"] = int(query.get("status", 200))
            behaviour["channels"] = query.get("channels")
            behaviour["expires"] = query.get("expires")
        self.answer(204)

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == "/healthz":
            return self.answer(200, b"ok")
        if url.path == "/login":
            sid = secrets.token_hex(16)
            with lock:
                sessions[sid] = query["user"]
            return self.answer(200, sid.encode(), [("Set-Cookie", "sid=%s; HttpOnly; Path=/" % sid)])
        if url.path == "/logout":
            with lock:
                sessions.pop(session_of(self.headers.get("Cookie")), None)
            return self.answer(204)
        if url.path == "/stats":
            with lock:
                body = json.dumps(stats).encode()
            return self.answer(200, body, [("Content-Type", "application/json")])
        if url.path == "/check":
            return self.check()
        self.answer(404)

    def check(self):
        sid = session_of(self.headers.get("Cookie"))
        with lock:
            stats["checks"] += 1
            stats["last"] = {name.lower(): value for name, value in self.headers.items()}
            in_flight[sid] = in_flight.get(sid, 0) + 1
            in_flight_total[0] += 1
            stats["max_in_flight_per_session"] = max(stats["max_in_flight_per_session"], in_flight[sid])
            stats["max_in_flight"] = max(stats["max_in_flight"], in_flight_total[0])
            rules = dict(behaviour)
            user = sessions.get(sid)
        try:
            if rules["delay"]:
                time.sleep(rules["delay"])
            if user is None:
                return self.answer(401, b"no session")
            if rules["status"] != 200:
                return self.answer(rules["status"], b"refused")
            headers = [("X-Herald-User", user)]
            if rules["channels"] is not None:
                headers.append(("X-Herald-Channels", rules["channels"]))
            if rules["expires"] is not None:
                headers.append(("X-Herald-Expires", rules["expires"]))
            self.answer(200, b"", headers)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with lock:
                in_flight[sid] -= 1
                in_flight_total[0] -= 1


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
