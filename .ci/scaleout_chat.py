#!/usr/bin/env python3
"""The scale-out test's chat check (issue 21, item 4), run by .ci/scaleout.py.

A member's Server-Sent Events stream (`/chat/events`) is opened through
nginx; another member posts messages through each instance in turn, and
every one must reach the stream within 1 s (the worst latency is printed;
nginx must not buffer the stream). Then the instance serving the stream
(nginx's `X-Upstream` header, which the test's nginx.conf adds) is killed
with SIGKILL, more messages are posted through the others, and the client
reconnects through nginx with `Last-Event-ID`: every message posted while
it was away, and those posted after, arrive exactly once, in order. The
killed instance is started again so the later checks have all of them.
"""

import http.client
import json
import queue
import threading
import time

from scaleout_site import csrf_of, record, sign_up

LIMIT = 1.0  # seconds from a post to its arrival on the stream


class Stream(threading.Thread):
    """An SSE client: (arrival time, id, event, data) of each event, in a queue."""

    def __init__(self, site, browser, last_id=None, port=None):
        super().__init__(daemon=True)
        self.events = queue.Queue()
        self.connected = threading.Event()
        self.ended = threading.Event()
        self.conn = http.client.HTTPConnection("127.0.0.1", port or site.nginx.port, timeout=10)
        h = {"Accept": "text/event-stream",
             "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}
        if last_id is not None:
            h["Last-Event-ID"] = str(last_id)
        self.conn.request("GET", "/chat/events", headers=h)
        try:
            self.response = self.conn.getresponse()
        except TimeoutError:
            # A buffering proxy holds even the headers until its buffer fills.
            raise RuntimeError("/chat/events sent no answer within 10 s: is nginx buffering the stream?")
        self.conn.sock.settimeout(60)  # heartbeats come every 15 s
        self.status = self.response.status
        self.content_type = self.response.getheader("Content-Type", "")
        self.accel = self.response.getheader("X-Accel-Buffering")
        self.upstream = (self.response.getheader("X-Upstream") or "").split(",")[-1].strip()
        self.instance = site.instance_at(self.upstream)

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
                        self.events.put((time.monotonic(), block["id"], block["event"], "\n".join(block["data"])))
                    block = {"id": None, "event": "message", "data": []}
                elif line.startswith(":"):
                    self.connected.set()
                elif line.startswith("id:"):
                    block["id"] = int(line[3:].strip())
                elif line.startswith("event:"):
                    block["event"] = line[6:].strip()
                elif line.startswith("data:"):
                    block["data"].append(line[5:].lstrip(" "))
        except (OSError, ValueError, http.client.HTTPException):
            pass
        self.ended.set()

    def close(self):
        try:
            self.conn.sock and self.conn.sock.close()
        except OSError:
            pass

    def messages(self, quiet=1.5):
        """Every `message` event until nothing arrives for `quiet` s."""
        out = []
        while True:
            try:
                e = self.events.get(timeout=quiet)
            except queue.Empty:
                return out
            if e[2] == "message":
                out.append(e)


def message_id(event):
    return (json.loads(event[3]).get("message") or {}).get("id")


class Poster:
    """A member posting to one room through a given instance."""

    def __init__(self, browser, room):
        self.b, self.room = browser, room
        self.token = csrf_of(browser.get(f"/chat/rooms/{room}")[2])

    def post(self, inst, text):
        """Post through `inst`; the message id and the time just before sending."""
        sent = time.monotonic()
        status, headers, body = self.b.post(f"/chat/rooms/{self.room}/messages",
                                            {"csrf_token": self.token, "body": text}, port=inst.port)
        to = headers.get("Location", "")
        if status != 303 or "#m" not in to:
            raise RuntimeError(f"posting through instance {inst.n}: {status} {to!r} {body[:200]}")
        return int(to.rsplit("#m", 1)[1]), sent


def wait_for(stream, mid, deadline):
    """(arrival time, SSE id) of message `mid` on `stream`, or None by `deadline`."""
    while True:
        left = deadline - time.monotonic()
        try:
            event = stream.events.get(timeout=max(left, 0.001))
        except queue.Empty:
            return None
        if event[2] == "message" and message_id(event) == mid:
            return event[0], event[1]


def check_chat(site):
    alice, bob = sign_up(site, "chatalice"), sign_up(site, "chatbob")
    status, headers, body = alice.form("/chat/new", "/chat/rooms", {"name": "Scale-out", "topic": ""})
    assert status == 303, f"creating a room: {status} {body[:300]}"
    room = int(headers["Location"].rstrip("/").rsplit("/", 1)[1])
    status, _, body = bob.form(f"/chat/rooms/{room}", f"/chat/rooms/{room}/join", {})
    assert status == 303, f"joining the room: {status} {body[:300]}"
    poster = Poster(alice, room)

    # The app asks proxies not to buffer the stream (nginx hides the header).
    direct = Stream(site, bob, port=site.instances[0].port)
    direct.close()

    # 1. Live, through nginx: posts through every instance in turn.
    s1 = Stream(site, bob)
    s1.start()
    assert s1.status == 200 and s1.content_type.startswith("text/event-stream") and s1.instance, \
        f"/chat/events through nginx: {s1.status} {s1.content_type!r} upstream {s1.upstream!r}"
    assert s1.connected.wait(5), "the stream through nginx sent nothing within 5 s"
    live, in_time, worst, last_seen = 12, 0, 0.0, None
    for n in range(live):
        inst = site.instances[n % len(site.instances)]
        mid, sent = poster.post(inst, f"live {n}")
        seen = wait_for(s1, mid, sent + LIMIT)
        if seen is not None:
            in_time += 1
            worst = max(worst, seen[0] - sent)
            last_seen = seen[1]
    record(f"chat: {live} messages posted through the {len(site.instances)} instances in turn reach an SSE client through nginx",
           in_time == live and direct.accel == "no",
           f"{in_time}/{live} within {LIMIT * 1000:.0f} ms, worst {worst * 1000:.0f} ms (from sending the POST); "
           f"stream on instance {s1.instance.n}; the app sends X-Accel-Buffering: {direct.accel}")

    # 2. Kill the instance serving the stream; post through the others.
    victim = s1.instance
    victim.proc.kill()
    ended = s1.ended.wait(10)
    others = [i for i in site.instances if i is not victim]
    away = [poster.post(others[n % len(others)], f"while away {n}")[0] for n in range(15)]

    # 3. Reconnect through nginx with Last-Event-ID; more arrive live.
    s2 = Stream(site, bob, last_id=last_seen)
    s2.start()
    got = s2.messages()
    after = [poster.post(others[n % len(others)], f"after reconnecting {n}")[0] for n in range(6)]
    got += s2.messages()
    s2.close()
    ids = [message_id(e) for e in got]
    event_ids = [e[1] for e in got]
    expected = away + after
    in_order = all(b > a for a, b in zip([last_seen or 0] + event_ids, event_ids))
    missing = [m for m in expected if m not in ids]
    record("chat: the SSE client's instance killed (SIGKILL), reconnect through nginx with Last-Event-ID",
           ended and s2.status == 200 and s2.instance is not victim and ids == expected and in_order,
           f"stream on instance {victim.n} killed after event {last_seen} (stream ended: {ended}); "
           f"reconnected to instance {s2.instance.n if s2.instance else s2.upstream}; "
           f"{len(away)} posted while away + {len(after)} after = {len(ids)} received of {len(expected)}, "
           f"{len(missing)} missing, {len(ids) - len(set(ids))} duplicates, in order: {in_order}")
    victim.start()
