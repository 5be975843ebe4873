#!/usr/bin/env python3
"""What the scale-out test (.ci/scaleout.py) runs its checks on: the
processes of the release binary, nginx in front of them with the shipped
deploy/nginx/groundwork-proxy.conf, an SMTP sink, a cookie-keeping HTTP
client, and the table of results. Standard library and aiosmtpd only.
"""

import base64
import concurrent.futures as cf
import email
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

from aiosmtpd.controller import Controller

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROXY_CONF = os.path.join(ROOT, "deploy", "nginx", "groundwork-proxy.conf")
PASSWORD = "scale out correct horse battery"
# The test provider's webhook secret, set on every instance, so a webhook
# can be signed here the way Stripe signs one (docs/payments.md).
WEBHOOK_SECRET = "whsec_scaleout_" + secrets.token_hex(12)
RESULTS = []  # (check, outcome, detail)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(admin_url, sql):
    return subprocess.run(["psql", admin_url, "-qAtc", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def record(check, ok, detail):
    RESULTS.append((check, "pass" if ok else "FAIL", detail))
    print(f"  [{'pass' if ok else 'FAIL'}] {check}: {detail}", flush=True)


# ---------------------------------------------------------------- a browser

class Browser:
    """A cookie-keeping HTTP client, one request per connection, no redirects
    followed (what the answer was is what a check looks at)."""

    def __init__(self, base_port, origin):
        self.port = base_port
        self.origin = origin
        self.cookies = {}
        self.lock = threading.Lock()

    def request(self, method, path, body=None, port=None, headers=None, timeout=15):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        h = {"Connection": "close"}
        with self.lock:
            if self.cookies:
                h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
            h["Origin"] = self.origin
        h.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read().decode("utf-8", "replace")
            with self.lock:
                for value in r.headers.get_all("Set-Cookie") or []:
                    pair = value.split(";", 1)[0]
                    name, _, val = pair.partition("=")
                    gone = re.search(r"(?i)max-age=0|expires=thu, 01 jan 1970", value)
                    if gone or val == "":
                        self.cookies.pop(name.strip(), None)
                    else:
                        self.cookies[name.strip()] = val
            return r.status, r.headers, data
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, fields, **kw):
        return self.request("POST", path, body=urllib.parse.urlencode(fields), **kw)

    def form(self, page, action, fields, port=None):
        """GET `page` (through `port`), POST `fields` and its CSRF token to `action`."""
        status, headers, body = self.get(page, port=port)
        token = csrf_of(body)
        if status != 200 or not token:
            return status, headers, body  # the page itself failed: its answer
        return self.post(action, {"csrf_token": token, **fields}, port=port)


def csrf_of(html):
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return m.group(1) if m else None


# ---------------------------------------------------------------- processes

class Instance:
    def __init__(self, n, binary, env, work):
        self.n = n
        self.binary = binary
        self.env = env
        self.port = free_port()
        self.log = os.path.join(work, f"instance{n}.log")
        self.proc = None

    def start(self):
        env = dict(self.env, ROCKET_PORT=str(self.port))
        out = open(self.log, "a")
        self.proc = subprocess.Popen([self.binary, "serve"], cwd=ROOT, env=env,
                                     stdout=out, stderr=subprocess.STDOUT)
        self.wait_healthy()

    def wait_healthy(self, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"instance {self.n} exited:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"instance {self.n} never became healthy:\n{self.tail()}")

    def stop(self, sig=signal.SIGTERM, wait=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=wait)

    def tail(self, n=40):
        try:
            with open(self.log) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Nginx:
    def __init__(self, work, instances):
        self.dir = os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "cache"), exist_ok=True)
        os.chmod(work, 0o755)
        for d in ("", "logs", "cache"):
            os.chmod(os.path.join(self.dir, d), 0o777)
        self.port = free_port()
        self.access_log = os.path.join(self.dir, "logs", "access.log")
        upstreams = "\n".join(
            f"        server 127.0.0.1:{i.port} max_fails=1 fail_timeout=2s;" for i in instances)
        conf = f"""
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$upstream_addr $status $request_method $uri';
    access_log {self.access_log} upstream;
    client_body_temp_path {self.dir}/cache/body;
    proxy_temp_path {self.dir}/cache/proxy;
    fastcgi_temp_path {self.dir}/cache/fastcgi;
    uwsgi_temp_path {self.dir}/cache/uwsgi;
    scgi_temp_path {self.dir}/cache/scgi;
    proxy_cache_path {self.dir}/cache/static keys_zone=groundwork_static:1m max_size=10m;
    upstream groundwork {{
{upstreams}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        # Test only: which process answered, known as soon as the headers
        # arrive (the access log has a line only when a response ends, and
        # a stream's ends when it is cut). Not in the shipped config: the
        # public has no business knowing the upstream addresses.
        add_header X-Upstream $upstream_addr always;
        include {PROXY_CONF};
    }}
}}
"""
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start: " + open(os.path.join(self.dir, "logs", "error.log")).read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def upstreams_for(self, uri, since=0, method=None):
        """The upstream that answered each request for `uri` (and `method`),
        from the access log after byte `since`. When nginx retried on
        another process, `$upstream_addr` lists each: the last answered."""
        with open(self.access_log) as f:
            f.seek(since)
            lines = f.read().splitlines()
        served = []
        for line in lines:
            parts = line.rsplit(" ", 3)
            if len(parts) == 4 and parts[3] == uri and method in (None, parts[2]):
                served.append(parts[0].split(",")[-1].strip())
        return served

    def log_size(self):
        try:
            return os.path.getsize(self.access_log)
        except OSError:
            return 0


class Sink:
    """An SMTP server that keeps every Message-ID it receives."""

    def __init__(self):
        self.port = free_port()
        self.ids = []
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content)
        with self.lock:
            self.ids.append((msg.get("Message-ID", ""), msg.get("Subject", "")))
        return "250 OK"

    def subjects(self, prefix):
        with self.lock:
            return [(i, s) for i, s in self.ids if s and prefix in s]


# ---------------------------------------------------------------- the site

class Site:
    def __init__(self, binary, count, admin_url):
        self.work = tempfile.mkdtemp(prefix="groundwork-scaleout-")
        self.admin_url = admin_url
        self.db = f"test_{secrets.token_hex(8)}"
        psql(admin_url, f'CREATE DATABASE "{self.db}"')
        url = urllib.parse.urlsplit(admin_url)
        self.database_url = urllib.parse.urlunsplit(url._replace(path=f"/{self.db}"))
        self.sink = Sink()
        self.sink.controller.start()
        self.instances = []
        env = dict(os.environ)
        self.nginx_port = None
        for n in range(count):
            self.instances.append(Instance(n + 1, binary, env, self.work))
        self.nginx = Nginx(self.work, self.instances)
        self.base = f"http://127.0.0.1:{self.nginx.port}"
        env.update({
            "ROCKET_PROFILE": "release",
            "ROCKET_SECRET_KEY": base64.b64encode(os.urandom(64)).decode(),
            "ROCKET_ADDRESS": "127.0.0.1",
            "ROCKET_BASE_URL": self.base,
            "ROCKET_TRUSTED_PROXIES": '["127.0.0.1"]',
            "ROCKET_LOG_LEVEL": "normal",
            "ROCKET_CLI_COLORS": "false",
            "ROCKET_DRAIN_SECONDS": "1",
            "ROCKET_SIGNUPS_PER_ADDRESS_PER_HOUR": "100000",
            "ROCKET_LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
            "ROCKET_MAIL": f'{{smtp_url="smtp://127.0.0.1:{self.sink.port}",from="Groundwork <site@example.org>",retry_base=1.0,retry_max=2.0}}',
            "ROCKET_JOBS": "{lease=5,poll_interval=0.2}",
            "ROCKET_CONTACT": '{recipients=["inbox@example.org"],acknowledge=false,per_address_per_hour=1000000}',
            "ROCKET_CHAT": "{messages_per_minute=100000}",
            # The built-in test provider stands in for Stripe (same
            # signature, same processing); release needs it allowed.
            "ROCKET_PAYMENTS": f'{{provider="test",test={{allow_in_release=true,webhook_secret="{WEBHOOK_SECRET}"}}}}',
            "DATABASE_URL": self.database_url,
        })
        for i in self.instances:
            i.env = env

    def start(self):
        # The first one applies the migrations alone; then the others.
        self.instances[0].start()
        with cf.ThreadPoolExecutor() as ex:
            list(ex.map(lambda i: i.start(), self.instances[1:]))
        self.nginx.start()

    def browser(self):
        return Browser(self.nginx.port, self.base)

    def instance_at(self, addr):
        """The instance listening on `addr` ("127.0.0.1:PORT"), or None."""
        return next((i for i in self.instances if f"127.0.0.1:{i.port}" == addr), None)

    def sql(self, query):
        url = self.database_url
        return subprocess.run(["psql", url, "-qAtc", query], check=True,
                              capture_output=True, text=True).stdout.strip()

    def close(self, keep):
        for i in self.instances:
            try:
                i.stop(signal.SIGKILL)
            except Exception:
                pass
        self.nginx.stop()
        self.sink.controller.stop()
        try:
            psql(self.admin_url, f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        except subprocess.CalledProcessError:
            pass
        if not keep:
            shutil.rmtree(self.work, ignore_errors=True)


def sign_up(site, name):
    b = site.browser()
    status, headers, body = b.form("/signup", "/signup", {
        "username": name, "email": f"{name}@example.org", "password": PASSWORD})
    assert status == 303 and headers["Location"].endswith("/profile"), f"sign-up: {status} {body[:300]}"
    return b


def http_status(port, path):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None




def print_table(instances, seconds):
    print(f"\nscale-out test, {instances} instances behind nginx, {seconds:.0f} s:")
    width = max(len(c) for c, _, _ in RESULTS)
    for check, outcome, detail in RESULTS:
        print(f"  {outcome:4}  {check:{width}}  {detail}")
