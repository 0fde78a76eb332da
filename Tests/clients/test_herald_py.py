#!/usr/bin/env python3
"""clients/python/herald.py against a real redis-server and a real node.

    HERALD_BIN=.build/debug/herald python -m unittest Tests/clients/test_herald_py.py
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from herald import Herald, HeraldError, PUBLISH_SCRIPT  # noqa: E402

HERALD = os.environ["HERALD_BIN"]
SECRET = "a-secret-of-at-least-thirty-two-bytes!"
PUBLISHER_KEY, ADMIN_KEY = "publisher-key-for-tests", "admin-key-for-tests"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(condition, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} did not hold within {timeout} s")


class EventStream:
    """A raw EventSource connection: reads `id:`, `event:` and `data:` lines."""

    def __init__(self, port, path):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.socket.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.buffer = b""

    def status(self):
        while b"\r\n" not in self.buffer:
            self.buffer += self.socket.recv(4096)
        return int(self.buffer.split(b" ", 2)[1])

    def events(self, count, timeout=5):
        deadline = time.time() + timeout
        while self.buffer.count(b"data: ") < count and time.time() < deadline:
            self.socket.settimeout(max(0.05, deadline - time.time()))
            try:
                chunk = self.socket.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.buffer += chunk
        events, current = [], {}
        for line in self.buffer.decode(errors="replace").replace("\r\n", "\n").split("\n"):
            for field in ("id", "event", "data"):
                if line.startswith(field + ": "):
                    current[field] = line[len(field) + 2:]
            if line.startswith("data: "):
                events.append(current)
                current = {}
        return events

    def close(self):
        self.socket.close()


class HeraldPyTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="herald-py-")
        cls.redis_port, cls.port, cls.admin = free_port(), free_port(), free_port()
        cls.redis = subprocess.Popen(["redis-server", "--port", str(cls.redis_port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", cls.directory],
                                     stdout=subprocess.DEVNULL)
        cls.node = subprocess.Popen([HERALD, "serve", "--host", "127.0.0.1", "--port", str(cls.port),
                                     "--admin-port", str(cls.admin), "--redis", f"redis://127.0.0.1:{cls.redis_port}",
                                     "--auth-secret", SECRET, "--user-channel-prefix", "user:", "--public-publisher",
                                     "--publisher-key", PUBLISHER_KEY, "--admin-key", ADMIN_KEY,
                                     "--log-level", "warning"], stdout=subprocess.DEVNULL)
        wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{cls.admin}/readyz", timeout=1).status == 200,
             what="the node")
        cls.admin_url = f"http://127.0.0.1:{cls.admin}"
        cls.client = Herald(redis_url=f"redis://127.0.0.1:{cls.redis_port}", admin_url=cls.admin_url,
                            publisher_key=PUBLISHER_KEY, admin_key=ADMIN_KEY, auth_secret=SECRET)

    @classmethod
    def tearDownClass(cls):
        for process in (cls.node, cls.redis):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)

    def test_the_script_is_the_nodes(self):
        printed = subprocess.run([HERALD, "redis-scripts", "publish"], capture_output=True, text=True, check=True)
        self.assertEqual(PUBLISH_SCRIPT, printed.stdout)

    def test_a_message_through_redis_reaches_a_subscriber_once_with_its_ids(self):
        token = self.client.grant(user="42")
        stream = EventStream(self.port, f"/ev/user:42?token={token}")
        self.addCleanup(stream.close)
        self.assertEqual(stream.status(), 200)
        wait(lambda: self.client.channel_info("user:42")["subscribers"] == 1, what="the subscriber")
        sent = self.client.publish_to_user("42", '{"text": "hi"}', event_id="e-1", event_type="chat")
        self.assertEqual((sent["channel"], sent["id"]), ("user:42", 1))
        self.assertGreater(sent["time"], 0)
        events = stream.events(1)
        time.sleep(0.3)
        events = stream.events(1, timeout=0.2)
        self.assertEqual(len(events), 1, events)
        message = json.loads(events[0]["data"])
        self.assertEqual((message["id"], message["text"], message["eventid"]), (1, '{"text": "hi"}', "e-1"))
        self.assertEqual(events[0].get("event"), "chat")
        self.assertTrue(events[0]["id"].startswith("hc:user%3A42:1:"))

    def test_a_flushed_script_is_loaded_again(self):
        first = self.client.publish("flush", "one")[0]
        self.client._redis.script_flush()
        second = self.client.publish(["flush", "flush-2"], "two")
        self.assertEqual([first["id"]] + [m["id"] for m in second], [1, 2, 1])

    def test_a_retried_publish_is_stored_once(self):
        first = self.client.publish("retry", "paid", idempotency_key="order-1")[0]
        again = self.client.publish("retry", "paid", idempotency_key="order-1")[0]
        self.assertEqual((first["id"], again["id"]), (1, 1))
        keyed = Herald(node_url=f"http://127.0.0.1:{self.port}", publisher_key=PUBLISHER_KEY)
        self.assertEqual(keyed.publish("retry", "paid", idempotency_key="order-1")[0]["id"], 1)
        self.assertEqual(keyed.publish("retry", "shipped", idempotency_key="order-2")[0]["id"], 2)
        self.assertEqual(self.client.channel_info("retry")["stored_messages"], 2)

    def test_http_publishing_needs_the_key(self):
        keyless = Herald(node_url=f"http://127.0.0.1:{self.port}")
        with self.assertRaises(HeraldError) as refused:
            keyless.publish("http", "no key")
        self.assertEqual(refused.exception.status, 401)
        keyed = Herald(node_url=f"http://127.0.0.1:{self.port}", publisher_key=PUBLISHER_KEY)
        self.assertEqual([m["id"] for m in keyed.publish(["http", "http-2"], "with key", event_type="x")], [1, 1])
        self.assertEqual(keyed.publish("http", "again")[0]["id"], 2)
        self.assertEqual(self.client.channel_info("http")["published_messages"], 2)
        self.assertTrue(self.client.delete("http"))
        self.assertFalse(self.client.delete("http"))
        self.assertIsNone(self.client.channel_info("http"))

    def test_a_minted_grant_opens_exactly_its_channels(self):
        token = self.client.grant(channels=["open"], prefixes=["room:"], ttl=60)
        def status(path):
            request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}?token={token}",
                                             headers={"X-Nginx-PushStream-Mode": "polling"})
            try:
                return urllib.request.urlopen(request, timeout=5).status
            except urllib.error.HTTPError as error:
                return error.code
        self.assertEqual(status("/lp/open"), 304)
        self.assertEqual(status("/lp/room:7"), 304)
        self.assertEqual(status("/lp/closed"), 403)
        self.assertEqual(status("/lp/user:42"), 403)

    def test_presence_follows_a_user(self):
        self.assertFalse(self.client.is_online("77"))
        stream = EventStream(self.port, f"/ev/lobby?token={self.client.grant(user='77', channels=['lobby'])}")
        self.assertEqual(stream.status(), 200)
        wait(lambda: self.client.is_online("77"), what="77 online")
        self.assertEqual(self.client.presence("lobby"), {"77": 1})
        stream.close()
        wait(lambda: not self.client.is_online("77"), what="77 offline")
        self.assertEqual(self.client.presence("lobby"), {})


if __name__ == "__main__":
    unittest.main()
