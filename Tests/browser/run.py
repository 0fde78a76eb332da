#!/usr/bin/env python3
"""herald.js in real Chromium, against a real node (and nginx in front of it).

    Tests/browser/run.py HERALD_BINARY SCREENSHOT_DIR

Starts what it needs on free loopback ports (a node, a static server for the test page, nginx
for the fallback case), drives Debian's chromium through chromedriver with Selenium, and stops
everything by pid. Saves a screenshot of each case in SCREENSHOT_DIR. Exits non-zero on the first
failed expectation, with what the page saw.
"""
import base64
import functools
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HERE = os.path.dirname(os.path.abspath(__file__))
HERALD, SHOTS = sys.argv[1], sys.argv[2]
os.makedirs(SHOTS, exist_ok=True)
children = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.05)
    raise SystemExit(f"not ready: {url}")


def start(arguments, **kwargs):
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    children.append(process)
    return process


def stop_all():
    for process in children:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in children:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


class Node:
    def __init__(self, *extra):
        self.port, self.admin = free_port(), free_port()
        self.process = start([HERALD, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                              "--admin-port", str(self.admin), "--log-level", "warning", *extra])
        wait_for(f"http://127.0.0.1:{self.admin}/readyz")
        self.origin = f"http://127.0.0.1:{self.port}"

    def wait_subscribed(self, channel, timeout=10):
        """Until the node has a subscriber on `channel` (the page's connection is registered)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/channels-stats?id={channel}", timeout=2) as a:
                    if json.loads(a.read()).get("subscribers", 0) >= 1:
                        return
            except urllib.error.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"no subscriber on {channel} after {timeout} s")

    def publish(self, channel, text):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.admin}/pub?id={channel}", data=text.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200, answer.status


SECRET = "a-secret-of-at-least-thirty-two-bytes!"
grants_minted = []


def grant(channels, ttl):
    """An HS256 grant, as a site mints one."""
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=")
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"channels": channels, "exp": int(time.time()) + ttl}).encode())
    signature = b64(hmac.new(SECRET.encode(), header + b"." + claims, hashlib.sha256).digest())
    return (header + b"." + claims + b"." + signature).decode()


def serve_page():
    """The test page from its own origin, as a site would serve it; `/token?channel=&ttl=` mints
    a grant, as the site's own endpoint would for herald.js's getToken."""
    port = free_port()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if not self.path.startswith("/token?"):
                return super().do_GET()
            query = urllib.parse.parse_qs(self.path.split("?", 1)[1])
            token = grant([query["channel"][0]], int(query["ttl"][0])).encode()
            grants_minted.append(time.time())
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(token)))
            self.end_headers()
            self.wfile.write(token)

    handler = functools.partial(Quiet, directory=HERE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}"


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,700"]:
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)


def until(driver, condition, timeout=15, what=""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if driver.execute_script(f"return {condition}"):
            return
        time.sleep(0.05)
    seen = driver.execute_script("return {statuses: window.statuses, received: window.received, errors: window.errors}")
    raise AssertionError(f"{what}: `{condition}` did not hold within {timeout} s; the page saw {json.dumps(seen)[:2000]}")


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def ids(driver, channel):
    return driver.execute_script(
        "var channel = arguments[0];"
        "return window.received.filter(function (m) { return m.channel === channel; }).map(function (m) { return m.id; })",
        channel)


def case_every_transport_delivers_in_order_and_resumes_exactly(driver, page):
    node = Node("--allowed-origins", page)
    for transport, extra in [("websocket", ""), ("eventsource", ""), ("longpolling", "&jsonp=false"),
                             ("jsonp", "&jsonp=true")]:
        channel = f"order-{transport}"
        forced = "longpolling" if transport == "jsonp" else transport
        driver.get(f"{page}/page.html?node={node.origin}&channels={channel}&transports={forced}{extra}")
        until(driver, "window.herald && window.herald.status === 'open'", what=transport)
        node.wait_subscribed(channel)
        for i in range(1, 21):
            node.publish(channel, f"{transport} {i}")
        until(driver, f"window.received.length >= 20", what=transport)
        expect(ids(driver, channel) == list(range(1, 21)), f"{transport}: {ids(driver, channel)}")
        expect(all(m["transport"] == transport for m in driver.execute_script("return window.received")),
               f"{transport}: delivered by another transport")
        # Away and back: what was published meanwhile arrives once, in order.
        driver.execute_script("window.herald.close()")
        for i in range(21, 26):
            node.publish(channel, f"{transport} {i}")
        driver.execute_script("window.herald.connect()")
        until(driver, "window.received.length >= 25", what=f"{transport} resume")
        time.sleep(0.5)
        expect(ids(driver, channel) == list(range(1, 26)), f"{transport} resume: {ids(driver, channel)}")
        driver.save_screenshot(os.path.join(SHOTS, f"transport-{transport}.png"))
        print(f"browser: {transport}: 25 messages in order, resumed exactly")


def case_an_expiring_grant_is_refreshed_without_loss(driver, page):
    node = Node("--allowed-origins", page, "--auth-secret", SECRET)
    for transport in ["websocket", "eventsource", "longpolling"]:
        channel = f"grant-{transport}"
        token = grant([channel], 3)
        driver.get(f"{page}/page.html?node={node.origin}&channels={channel}&transports={transport}"
                   f"&jsonp=false&token={token}&tokenURL=" + urllib.parse.quote(f"/token?channel={channel}&ttl=60"))
        until(driver, "window.herald && window.herald.status === 'open'", what=f"{transport} with a grant")
        node.wait_subscribed(channel)
        for i in range(1, 6):
            node.publish(channel, f"before expiry {i}")
        until(driver, "window.received.length >= 5", what=f"{transport} before expiry")
        # The grant ends about 3 s after it was minted: the node sends -5, herald.js asks for a new one.
        until(driver, "window.refreshes >= 1", timeout=10, what=f"{transport} refresh")
        for i in range(6, 11):
            node.publish(channel, f"after refresh {i}")
        until(driver, "window.received.length >= 10", what=f"{transport} after refresh")
        time.sleep(0.5)
        expect(ids(driver, channel) == list(range(1, 11)), f"{transport} across the refresh: {ids(driver, channel)}")
        driver.save_screenshot(os.path.join(SHOTS, f"grant-{transport}.png"))
        print(f"browser: {transport}: the grant expired and was refreshed through getToken, 10 messages in order")


def case_a_proxy_refusing_websocket_makes_it_fall_back(driver, page):
    node = Node("--allowed-origins", "*")
    port = free_port()
    directory = tempfile.mkdtemp(prefix="herald-browser-nginx-")
    config = f"""
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {directory}; proxy_temp_path {directory}; fastcgi_temp_path {directory};
    uwsgi_temp_path {directory}; scgi_temp_path {directory};
    server {{
        listen 127.0.0.1:{port};
        # A proxy that breaks WebSocket upgrades.
        location /ws/ {{ return 403; }}
        location / {{
            proxy_pass http://127.0.0.1:{node.port};
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""
    with open(os.path.join(directory, "nginx.conf"), "w") as file:
        file.write(config)
    start([shutil.which("nginx") or "/usr/sbin/nginx", "-c", os.path.join(directory, "nginx.conf"), "-p", directory])
    wait_for(f"http://127.0.0.1:{port}/herald.js")
    proxy = f"http://127.0.0.1:{port}"
    driver.get(f"{page}/page.html?node={proxy}&channels=fallback")
    until(driver, "window.herald && window.herald.status === 'open' && window.herald.transport !== 'websocket'",
          what="fallback")
    node.wait_subscribed("fallback")
    for i in range(1, 11):
        node.publish("fallback", f"after fallback {i}")
    until(driver, "window.received.length >= 10", what="fallback delivery")
    transport = driver.execute_script("return window.herald.transport")
    expect(ids(driver, "fallback") == list(range(1, 11)), f"fallback: {ids(driver, 'fallback')}")
    expect(any(s.startswith("reconnecting websocket") for s in driver.execute_script("return window.statuses")),
           "websocket was never tried")
    driver.save_screenshot(os.path.join(SHOTS, "fallback.png"))
    print(f"browser: WebSocket refused by the proxy: fell back to {transport}, 10 messages in order")


class Cluster:
    """`cluster/up 3` with the chat example, on free ports; `down()` stops what it started."""

    def __init__(self):
        root = os.path.dirname(os.path.dirname(HERE))
        self.directory = tempfile.mkdtemp(prefix="herald-browser-cluster-")
        while True:
            base = 20000 + (os.getpid() * 7 + int(time.time())) % 8000
            ports = [base + i for i in range(3)] + [base + 100 + i for i in range(3)] + [base + 50, base + 51, base + 52]
            if all(port_free(p) for p in ports):
                break
        self.front, self.site = base + 50, base + 52
        self.environment = dict(os.environ, HERALD_BIN=HERALD, HERALD_CLUSTER_DIR=self.directory,
                                HERALD_FRONT_PORT=str(self.front), HERALD_REDIS_PORT=str(base + 51),
                                HERALD_NODE_PORT=str(base), HERALD_SITE_PORT=str(self.site),
                                HERALD_SERVE_ARGS="--log-level warning")
        self.root = root
        subprocess.run([os.path.join(root, "cluster/up"), "3"], env=self.environment, check=True,
                       stdout=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.front}"
        self.nodes = [f"127.0.0.1:{base + i}" for i in range(3)]

    def pid(self, name):
        with open(os.path.join(self.directory, "pids")) as pids:
            for line in pids:
                recorded, pid = line.split()
                if recorded == name:
                    return int(pid)

    def owner(self, channel):
        """The node nginx routes `channel` to (`herald ring`), as nodeN."""
        answer = subprocess.run([HERALD, "ring", "--nodes", ",".join(self.nodes), channel],
                                capture_output=True, text=True, check=True).stdout.split()
        return f"node{self.nodes.index(answer[1]) + 1}"

    def down(self):
        subprocess.run([os.path.join(self.root, "cluster/down")], env=self.environment,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def log_in(driver, url, name):
    driver.get(url + "/")
    until(driver, "!document.getElementById('login').hidden", what=f"{name}: the login form")
    driver.execute_script(
        "var f = document.getElementById('login'); f.name.value = arguments[0]; f.requestSubmit();", name)
    until(driver, "document.getElementById('connection').dataset.status === 'open'", what=f"{name}: connected")


def chat_lines(driver, panel):
    return driver.execute_script(
        "return Array.prototype.map.call(document.getElementById(arguments[0]).children, function (e) { return e.textContent; })",
        panel)


def online(driver):
    return driver.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('#online li'), function (e) { return e.dataset.user; })")


def send(driver, to, text):
    driver.execute_script(
        "var f = document.getElementById('send'); f.to.value = arguments[0]; f.text.value = arguments[1]; f.requestSubmit();",
        to, text)


def case_the_chat_example_on_the_cluster():
    cluster = Cluster()
    ann, bob, carol = browser(), browser(), browser()
    try:
        for driver, name in [(ann, "ann"), (bob, "bob"), (carol, "carol")]:
            log_in(driver, cluster.url, name)
        until(bob, "document.querySelectorAll('#online li[data-user=ann]').length === 1", timeout=10,
              what="bob sees ann online")
        until(bob, "document.querySelector('#send select option[value=ann]') !== null", what="ann to write to")
        send(ann, "lobby", "hello everyone")
        for driver in (ann, bob, carol):
            until(driver, "document.getElementById('room:lobby').textContent.indexOf('hello everyone') >= 0",
                  what="the broadcast")
        send(bob, "ann", "just for you, ann")
        until(ann, "document.getElementById('private').textContent.indexOf('just for you') >= 0", what="ann's private")
        until(bob, "document.getElementById('private').textContent.indexOf('just for you') >= 0", what="bob's copy")
        time.sleep(1)
        expect(chat_lines(carol, "private") == [], f"carol read a private message: {chat_lines(carol, 'private')}")
        ann.save_screenshot(os.path.join(SHOTS, "chat-ann.png"))
        bob.save_screenshot(os.path.join(SHOTS, "chat-bob.png"))
        print("browser: chat: the broadcast reached all three, bob's private message ann and bob only")

        # The node ann's page is connected to dies (-9): the page moves on and misses nothing.
        victim = cluster.owner("user:ann")
        os.kill(cluster.pid(victim), signal.SIGKILL)
        for i in range(1, 6):
            send(bob, "lobby", f"while {victim} is dead {i}")
        until(ann, "document.getElementById('room:lobby').textContent.indexOf('is dead 5') >= 0", timeout=20,
              what="ann after the node died")
        lines = [line for line in chat_lines(ann, "room:lobby") if "is dead" in line]
        expect(lines == [f"bob: while {victim} is dead {i}" for i in range(1, 6)], f"ann saw {lines}")
        ann.save_screenshot(os.path.join(SHOTS, "chat-ann-after-node-death.png"))
        print(f"browser: chat: {victim} killed with -9, ann's page resumed with all 5 messages, in order")

        # Ann closes her tab: she leaves bob's list of who is online.
        ann.quit()
        ann = None
        until(bob, "document.querySelectorAll('#online li[data-user=ann]').length === 0", timeout=12,
              what="ann gone from bob's list")
        bob.save_screenshot(os.path.join(SHOTS, "chat-bob-after-ann-left.png"))
        print("browser: chat: ann's tab closed, bob's page shows her offline")
    finally:
        for driver in (ann, bob, carol):
            if driver is not None:
                driver.quit()
        cluster.down()


def main():
    page = serve_page()
    driver = browser()
    try:
        case_every_transport_delivers_in_order_and_resumes_exactly(driver, page)
        case_an_expiring_grant_is_refreshed_without_loss(driver, page)
        case_a_proxy_refusing_websocket_makes_it_fall_back(driver, page)
    finally:
        driver.quit()
        stop_all()
    case_the_chat_example_on_the_cluster()
    print(f"browser: all cases passed; screenshots in {SHOTS}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"browser test failed: {failure}", file=sys.stderr)
        sys.exit(1)
