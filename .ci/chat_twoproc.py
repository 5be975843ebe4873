#!/usr/bin/env python3
"""Chat across two app processes on one Postgres (run by .ci/chat-twoproc.sh).

    chat_twoproc.py BASE1 BASE2 PID1

An SSE client reads /chat/events on instance 1 while messages are posted
through instance 2 (sign-in cookie + CSRF form posts); each must arrive
within 1 s. Then instance 1 is killed (SIGKILL) mid-stream, more messages
are posted through instance 2, and the client reconnects to instance 2 with
Last-Event-ID: every message must arrive exactly once, in order. Standard
library only. Exits 1 with a FAIL line on the first problem.
"""

import http.client
import json
import os
import queue
import re
import signal
import sys
import threading
import time
import urllib.parse

BASE1, BASE2, PID1 = sys.argv[1], sys.argv[2], int(sys.argv[3])
PASSWORD = "two processes correct horse battery"
LIVE_LIMIT = float(os.environ.get("CHAT_TWOPROC_LIMIT", "1.0"))


def fail(msg):
    print(f"CHAT TWO-PROCESS FAIL: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def step(msg):
    print(f"  - {msg}", flush=True)


class Browser:
    """Cookies by hand (the two instances share them: same host, same key)."""

    def __init__(self):
        self.cookies = {}

    def request(self, base, method, path, fields=None, headers=None):
        u = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            h["Content-Type"] = "application/x-www-form-urlencoded"
            h["Origin"] = base
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if "Max-Age=0" in v or "expires=Thu, 01 Jan 1970" in v:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        conn.close()
        return r.status, r.getheader("Location") or "", text

    def csrf(self, base, path):
        status, _, page = self.request(base, "GET", path)
        m = re.search(r'name="csrf_token" value="([^"]*)"', page)
        if status != 200 or not m:
            fail(f"GET {path} on {base}: {status}, no csrf_token")
        return m.group(1)

    def submit(self, base, page, action, fields):
        token = self.csrf(base, page)
        return self.request(base, "POST", action, dict(fields, csrf_token=token))


def sign_up(base, username):
    b = Browser()
    status, to, body = b.submit(
        base,
        "/signup",
        "/signup",
        {"username": username, "email": f"{username}@example.org", "password": PASSWORD},
    )
    if status != 303 or not to.endswith("/profile"):
        fail(f"sign-up of {username}: {status} -> {to!r} {body[:300]}")
    return b


class Stream(threading.Thread):
    """Reads an SSE stream into a queue of (arrival time, id, event, data)."""

    def __init__(self, base, browser, last_id=None):
        super().__init__(daemon=True)
        self.events = queue.Queue()
        self.ended = threading.Event()
        self.connected = threading.Event()
        u = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        h = {"Accept": "text/event-stream",
             "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}
        if last_id is not None:
            h["Last-Event-ID"] = str(last_id)
        self.conn.request("GET", "/chat/events", headers=h)
        self.response = self.conn.getresponse()
        if self.response.status != 200:
            fail(f"/chat/events on {base} answered {self.response.status}")
        if self.response.getheader("X-Accel-Buffering") != "no":
            fail("/chat/events without X-Accel-Buffering: no")

    def run(self):
        block = {"id": None, "event": "message", "data": []}
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if block["data"]:
                        self.events.put((time.monotonic(), block["id"], block["event"],
                                         "\n".join(block["data"])))
                    block = {"id": None, "event": "message", "data": []}
                elif line.startswith(":"):
                    self.connected.set()
                elif line.startswith("id:"):
                    block["id"] = int(line[3:].strip())
                elif line.startswith("event:"):
                    block["event"] = line[6:].strip()
                elif line.startswith("data:"):
                    block["data"].append(line[5:].lstrip(" "))
        except (OSError, ValueError):
            pass
        self.ended.set()

    def messages(self, until_quiet=1.5):
        """Every message event until nothing arrives for `until_quiet` s."""
        out = []
        while True:
            try:
                out.append(self.events.get(timeout=until_quiet))
            except queue.Empty:
                return out


def post(browser, room, text):
    status, to, body = browser.submit(
        BASE2, f"/chat/rooms/{room}", f"/chat/rooms/{room}/messages", {"body": text})
    if status != 303 or "#m" not in to:
        fail(f"posting through instance 2: {status} -> {to!r} {body[:300]}")
    return int(to.rsplit("#m", 1)[1]), time.monotonic()


def message_id(event):
    data = json.loads(event[3])
    return (data.get("message") or {}).get("id")


def main():
    tag = f"{os.getpid()}{int(time.time()) % 100000}"
    alice = sign_up(BASE2, f"alice{tag}")
    bob = sign_up(BASE2, f"bob{tag}")
    status, to, body = alice.submit(BASE2, "/chat/new", "/chat/rooms",
                                    {"name": f"Two processes {tag}", "topic": ""})
    if status != 303:
        fail(f"creating a room: {status} {body[:300]}")
    room = int(to.rstrip("/").rsplit("/", 1)[1])
    status, _, body = bob.submit(BASE2, f"/chat/rooms/{room}", f"/chat/rooms/{room}/join", {})
    if status != 303:
        fail(f"joining the room: {status} {body[:300]}")
    step(f"signed up alice and bob through instance 2; room {room}, bob a member")

    # 1. Live: a stream on instance 1, posts through instance 2.
    s1 = Stream(BASE1, bob)
    s1.start()
    if not s1.connected.wait(5):
        fail("the stream on instance 1 sent nothing within 5 s")
    posted, worst, last_seen = [], 0.0, None
    for i in range(10):
        mid, at = post(alice, room, f"live {i}")
        posted.append(mid)
        try:
            arrived, eid, kind, data = s1.events.get(timeout=LIVE_LIMIT)
        except queue.Empty:
            fail(f"message {mid} posted through instance 2 did not reach instance 1 within 1 s")
        got = message_id((arrived, eid, kind, data))
        if kind != "message" or got != mid:
            fail(f"expected message {mid} on instance 1, got {kind} {data[:200]}")
        worst = max(worst, arrived - at)
        last_seen = eid
    step(f"10 of 10 messages posted through instance 2 reached the stream on instance 1, "
         f"slowest after {worst * 1000:.0f} ms (limit 1000 ms)")

    # 2. Kill instance 1 mid-stream (the stream is open), post more.
    os.kill(PID1, signal.SIGKILL)
    if not s1.ended.wait(5):
        fail("the stream on instance 1 did not end within 5 s of SIGKILL")
    step(f"killed instance 1 (pid {PID1}, SIGKILL) with the stream open; last event id seen {last_seen}")
    missed = [post(alice, room, f"while away {i}")[0] for i in range(15)]
    step(f"posted {len(missed)} messages through instance 2 while no stream was open")

    # 3. Reconnect to instance 2 with Last-Event-ID; more arrive live too.
    s2 = Stream(BASE2, bob, last_id=last_seen)
    s2.start()
    replayed = s2.messages()
    live = [post(alice, room, f"after reconnecting {i}")[0] for i in range(5)]
    replayed += s2.messages()
    ids = [message_id(e) for e in replayed]
    event_ids = [e[1] for e in replayed]
    expected = missed + live
    if ids != expected:
        dupes = len(ids) - len(set(ids))
        fail(f"after reconnecting: expected {len(expected)} messages {expected}, got "
             f"{len(ids)} ({dupes} duplicates): {ids}")
    if any(b <= a for a, b in zip(event_ids, event_ids[1:])) or event_ids[0] <= last_seen:
        fail(f"event ids not increasing after {last_seen}: {event_ids}")
    step(f"reconnected to instance 2 with Last-Event-ID {last_seen}: {len(missed)} missed + "
         f"{len(live)} live = {len(ids)} messages, each exactly once, in order, no duplicates")
    print("chat two-process: passed", flush=True)


if __name__ == "__main__":
    main()
