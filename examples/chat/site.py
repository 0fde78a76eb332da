#!/usr/bin/env python3
"""A tiny web IM site in front of a Herald cluster, shaped like the real thing.

    examples/chat/site.py --port 9090 --push http://127.0.0.1:9080 --admin http://127.0.0.1:9201 \\
        --publisher-key-file cluster/run/publisher.key

The site keeps its own users and sessions (a cookie); Herald asks it who a subscriber is (the
cookie check, GET /app/check), and the site publishes through the publisher key. Each user reads
`user:<name>` (private messages) and `room:lobby` (the broadcast room); who is online comes from
Herald's presence. Python's standard library only.

    GET  /                 the chat page
    POST /app/login        {"name": "ann"} -> session cookie
    POST /app/logout
    GET  /app/me           {"user": "ann"} or 401
    GET  /app/check        Herald's cookie check: 204, with X-Herald-User for a logged-in user
    POST /app/send         {"to": "bob" | "lobby", "text": "..."} -> published
    GET  /app/online       {"users": {"ann": 1, ...}} (presence on room:lobby)
"""
import argparse
import json
import os
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOM = "room:lobby"
NAME = re.compile(r"^[a-z0-9_-]{1,32}$")

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=9090)
parser.add_argument("--push", default="http://127.0.0.1:9080", help="where Herald's /pub is (nginx)")
parser.add_argument("--admin", default="http://127.0.0.1:9201",
                    help="the nodes' admin listeners, comma-separated (presence; the first that answers)")
parser.add_argument("--publisher-key-file", required=True)
parser.add_argument("--admin-key", default=os.environ.get("HERALD_ADMIN_KEY", ""))
args = parser.parse_args()
with open(args.publisher_key_file) as key_file:
    PUBLISHER_KEY = key_file.readline().strip()

sessions = {}  # session id -> user name
lock = threading.Lock()


def herald(method, url, body=None, key=""):
    request = urllib.request.Request(url, data=body, method=method)
    if key:
        request.add_header("Authorization", "Bearer " + key)
    request.add_header("Accept", "application/json")
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read() or b"{}")


def publish(channel, payload):
    url = args.push + "/pub?id=" + urllib.parse.quote(channel, safe="")
    return herald("POST", url, json.dumps(payload).encode(), PUBLISHER_KEY)


class Site(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=(), content_type="application/json"):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def user(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "chat_session":
                with lock:
                    return sessions.get(value)
        return None

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/", "/index.html"):
            with open(os.path.join(HERE, "index.html"), "rb") as page:
                return self.answer(200, page.read(), content_type="text/html; charset=utf-8")
        user = self.user()
        if path == "/app/check":
            # Herald forwards the browser's cookies. A logged-in user is named: Herald then lets
            # that user alone read user:<name>, and counts it online. Anyone else may read the
            # public channels (Herald keeps every user: channel closed to them).
            if user is None:
                return self.answer(204)
            return self.answer(204, headers=[("X-Herald-User", user)])
        if path == "/app/me":
            return self.answer(200, json.dumps({"user": user}).encode()) if user else self.answer(401)
        if path == "/app/online":
            if user is None:
                return self.answer(401)
            presence = None
            for admin in args.admin.split(","):
                try:
                    presence = herald("GET", admin + "/presence?id=" + urllib.parse.quote(ROOM, safe=""), key=args.admin_key)
                    break
                except (urllib.error.URLError, OSError):
                    continue  # that node is down: the next one knows the same
            if presence is None:
                return self.answer(502)
            users = {entry["user"]: entry["connections"] for entry in presence.get("online", [])}
            return self.answer(200, json.dumps({"users": users}).encode())
        self.answer(404)

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self.body()
        if path == "/app/login":
            name = str(body.get("name", "")).strip().lower()
            if not NAME.match(name):
                return self.answer(400, json.dumps({"error": "a name of a-z, 0-9, _ or -"}).encode())
            session = secrets.token_urlsafe(24)
            with lock:
                sessions[session] = name
            cookie = f"chat_session={session}; HttpOnly; SameSite=Lax; Path=/"
            return self.answer(200, json.dumps({"user": name}).encode(), headers=[("Set-Cookie", cookie)])
        user = self.user()
        if user is None:
            return self.answer(401)
        if path == "/app/logout":
            with lock:
                for session, name in list(sessions.items()):
                    if name == user:
                        del sessions[session]
            return self.answer(204, headers=[("Set-Cookie", "chat_session=; Max-Age=0; Path=/")])
        if path == "/app/send":
            to, text = str(body.get("to", "")), str(body.get("text", ""))[:2000]
            if not text or not (to == "lobby" or NAME.match(to)):
                return self.answer(400, json.dumps({"error": "to and text"}).encode())
            message = {"from": user, "to": to, "text": text}
            try:
                if to == "lobby":
                    publish(ROOM, message)
                else:
                    # A private message: to the recipient's channel, and a copy to the sender's tabs.
                    publish("user:" + to, message)
                    if to != user:
                        publish("user:" + user, message)
            except urllib.error.URLError as error:
                return self.answer(502, json.dumps({"error": str(error)}).encode())
            return self.answer(204)
        self.answer(404)


if __name__ == "__main__":
    server = ThreadingHTTPServer((args.host, args.port), Site)
    server.daemon_threads = True
    server.serve_forever()
