#!/usr/bin/env python3
"""The scale-out test (issue 21): several processes of the release binary on
one Postgres database, behind nginx from the distribution's package, using
the shipped deploy/nginx/groundwork-proxy.conf, must behave as one site.

    .ci/scaleout.py BINARY [--instances 3] [--admin-url postgres://...]

Needs nginx on PATH and the aiosmtpd package (.ci/scaleout.sh sets both up).
Everything goes through real sockets: nginx on a free port, the instances on
free ports, an SMTP sink on a free port. Prints a table of what was checked
with its counts; exits 1 when anything failed.
"""

import argparse
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
import sys
import tempfile
import threading
import time
import urllib.parse

from aiosmtpd.controller import Controller

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROXY_CONF = os.path.join(ROOT, "deploy", "nginx", "groundwork-proxy.conf")
PASSWORD = "scale out correct horse battery"
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

    def upstreams_for(self, uri, since=0):
        """Upstream addresses that served `uri`, from the access log after byte `since`."""
        with open(self.access_log) as f:
            f.seek(since)
            lines = f.read().splitlines()
        return [l.split()[0] for l in lines if len(l.split()) >= 4 and l.split()[3] == uri]

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


# ---------------------------------------------------------------- the checks

def check_sessions(site):
    b = sign_up(site, "ada")
    mark = site.nginx.log_size()
    signed_in = 0
    for _ in range(20):
        status, _, body = b.get("/profile")
        signed_in += status == 200 and "ada@example.org" in body
    served_by = set(site.nginx.upstreams_for("/profile", mark))
    record("sessions: 20 page loads through nginx stay signed in", signed_in == 20 and len(served_by) == len(site.instances),
           f"{signed_in}/20 signed in, served by {len(served_by)} instances")

    a, c = site.instances[0], site.instances[1]
    status, _, body = b.get("/contact", port=a.port)
    token = csrf_of(body)
    status, headers, _ = b.post("/contact", {
        "csrf_token": token, "name": "Ada", "email": "ada@example.org",
        "subject": "cross-instance form", "message": "fetched from one, posted to another"}, port=c.port)
    record("CSRF: a form fetched from instance 1 posts through instance 2",
           status == 303 and headers.get("Location", "").endswith("/contact/thanks"), f"POST answered {status}")

    status, _, body = b.get("/profile", port=a.port)
    status, headers, _ = b.post("/logout", {"csrf_token": csrf_of(body)}, port=a.port)
    others = [b.get("/profile", port=i.port)[0] for i in site.instances]
    record("sign-out on one instance ends the session on all",
           status == 303 and all(s == 303 for s in others), f"logout {status}; /profile on each: {others}")


def check_rate_limit(site):
    sign_up(site, "grace")
    limit = 5  # login_max_failures_per_account
    attempts = limit + 10
    b = site.browser()
    _, _, body = b.get("/login")
    token = csrf_of(body)

    def wrong(n):
        inst = site.instances[n % len(site.instances)]
        return b.post("/login", {"csrf_token": token, "email": "grace@example.org",
                                 "password": f"wrong {n}"}, port=inst.port)[0]
    with cf.ThreadPoolExecutor(attempts) as ex:
        statuses = list(ex.map(wrong, range(attempts)))
    not_limited = sum(s != 429 for s in statuses)
    record(f"rate limit: {attempts} concurrent wrong sign-ins over {len(site.instances)} instances",
           not_limited == limit and all(s in (401, 429) for s in statuses),
           f"{not_limited} answered before the limit (expected {limit}), statuses {sorted(set(statuses))}")


def post_contacts(site, prefix, count, during=None, workers=8):
    """`count` contact messages through nginx; returns (acknowledged subjects, failures)."""
    browsers = [site.browser() for _ in range(workers)]
    tokens = [csrf_of(b.get("/contact")[2]) for b in browsers]
    acked, failed = [], []
    lock = threading.Lock()

    def send(n):
        if during:
            during(n)
        b = browsers[n % workers]
        subject = f"{prefix} {n:04d}"
        try:
            status, headers, _ = b.post("/contact", {
                "csrf_token": tokens[n % workers], "name": "Load", "email": "load@example.org",
                "subject": subject, "message": "Is anybody there?"})
            ok = status == 303
        except OSError as e:
            status, ok = str(e), False
        with lock:
            (acked if ok else failed).append(subject if ok else (subject, status))
    with cf.ThreadPoolExecutor(workers) as ex:
        list(ex.map(send, range(count)))
    return acked, failed


def wait_for_mail(site, prefix, subjects, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        got = {s for _, s in site.sink.subjects(prefix)}
        if all(any(x in s for s in got) for x in subjects):
            break
        time.sleep(0.5)
    received = site.sink.subjects(prefix)
    missing = [x for x in subjects if not any(x in s for _, s in received)]
    ids = [i for i, _ in received]
    duplicates = len(ids) - len(set(ids))
    return missing, duplicates, len(received)


def check_mail(site):
    acked, failed = post_contacts(site, "exactly-once", 200)
    missing, dups, got = wait_for_mail(site, "exactly-once", acked)
    record("mail: 200 contact messages, every instance's worker running",
           not failed and not missing and dups == 0 and len(acked) == 200,
           f"{len(acked)} acknowledged, {got} mails received, {len(missing)} missing, {dups} duplicates")

    victim = site.instances[-1]

    def kill_midway(n):
        if n == 60 and victim.proc.poll() is None:
            victim.proc.kill()
    acked, failed = post_contacts(site, "killed-worker", 200, during=kill_midway)
    missing, dups, got = wait_for_mail(site, "killed-worker", acked)
    stored = int(site.sql("SELECT COUNT(*) FROM contact_messages WHERE subject LIKE 'killed-worker%'"))
    record("mail: 200 more with one instance killed (SIGKILL) mid-batch",
           not missing and stored >= len(acked),
           f"{len(acked)} acknowledged ({len(failed)} failed in flight at the kill), {stored} stored, "
           f"{got} mails received, {len(missing)} missing, {dups} duplicates (mail in flight at the kill)")
    victim.start()


class Load:
    """A steady stream of page views, sign-ins and contact posts through nginx."""

    def __init__(self, site, workers=6):
        self.site = site
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.counts = {"page": 0, "sign-in": 0, "contact": 0}
        self.failures = []
        self.acked = []
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(workers)]
        self.prefix = f"restart-{secrets.token_hex(3)}"
        # An account per worker: the sign-in limit counts attempts in flight
        # (before the password is checked), so one account signing in from
        # many threads at once is refused by design.
        self.accounts = []
        for _ in range(workers):
            name = f"load{secrets.token_hex(4)}"
            sign_up(site, name)
            self.accounts.append(f"{name}@example.org")

    def run(self, n):
        b = self.site.browser()
        seq = 0
        while not self.stop_flag.is_set():
            seq += 1
            kind = ("page", "sign-in", "contact")[seq % 3]
            try:
                if kind == "page":
                    status = b.get(("/", "/blog", "/login", "/contact")[seq % 4])[0]
                    ok = status == 200
                elif kind == "sign-in":
                    # A new visitor each time: a signed-in one is sent away from /login.
                    status, headers, _ = self.site.browser().form("/login", "/login", {
                        "email": self.accounts[n], "password": PASSWORD})
                    ok = status == 303
                else:
                    subject = f"{self.prefix} {n}-{seq}"
                    status, _, _ = b.form("/contact", "/contact", {
                        "name": "Load", "email": "load@example.org", "subject": subject,
                        "message": "during a restart"})
                    ok = status == 303
                    if ok:
                        with self.lock:
                            self.acked.append(subject)
            except OSError as e:
                status, ok = repr(e), False
            with self.lock:
                self.counts[kind] += 1
                if not ok:
                    self.failures.append((kind, status))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join()


def check_rolling_restart(site):
    with Load(site) as load:
        time.sleep(2)
        for inst in site.instances:
            inst.stop(signal.SIGTERM)
            inst.start()
            time.sleep(1)
        time.sleep(1)
    stored = int(site.sql(f"SELECT COUNT(*) FROM contact_messages WHERE subject LIKE '{load.prefix}%'"))
    total = sum(load.counts.values())
    record(f"rolling restart of all {len(site.instances)} instances under load",
           not load.failures and stored == len(load.acked) and total > 0,
           f"{total} requests ({load.counts['page']} pages, {load.counts['sign-in']} sign-ins, "
           f"{load.counts['contact']} forms), {len(load.failures)} failed {load.failures[:5]}, "
           f"{len(load.acked)} forms acknowledged and {stored} stored")


def check_database_outage(site):
    """The database goes away (its connections are ended and new ones refused)
    and comes back: the instances answer 503 quickly meanwhile and recover by
    themselves; nothing acknowledged is lost."""
    b = site.browser()
    with Load(site) as load:
        time.sleep(1)
        site_db = site.db
        psql(site.admin_url, f'ALTER DATABASE "{site_db}" WITH ALLOW_CONNECTIONS false')
        psql(site.admin_url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{site_db}'")
        time.sleep(0.5)
        started = time.time()
        status = b.get("/healthz")[0]
        away_seconds = time.time() - started
        time.sleep(3)
        psql(site.admin_url, f'ALTER DATABASE "{site_db}" WITH ALLOW_CONNECTIONS true')
        recovered = None
        deadline = time.time() + 30
        while time.time() < deadline:
            if all(http_status(i.port, "/healthz") == 200 for i in site.instances):
                recovered = time.time()
                break
            time.sleep(0.2)
        time.sleep(1)
    stored = int(site.sql(f"SELECT COUNT(*) FROM contact_messages WHERE subject LIKE '{load.prefix}%'"))
    bad = [f for f in load.failures if f[1] != 503]
    record("database outage: 503 while away, recovery without a restart",
           status == 503 and away_seconds < 5 and recovered is not None and not bad and stored == len(load.acked),
           f"/healthz answered {status} in {away_seconds:.2f} s while away; all healthy again "
           f"{'in time' if recovered else 'NEVER'}; {len(load.failures)} requests refused meanwhile "
           f"({len(bad)} not 503: {bad[:3]}); {len(load.acked)} forms acknowledged, {stored} stored")


def http_status(port, path):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--admin-url", default=os.environ.get("SCALEOUT_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--keep", action="store_true", help="keep the logs in the temp folder")
    args = ap.parse_args()
    site = Site(os.path.abspath(args.binary), args.instances, args.admin_url)
    started = time.time()
    try:
        site.start()
        print(f"{len(site.instances)} instances on ports {[i.port for i in site.instances]}, "
              f"nginx on {site.nginx.port}, database {site.db}", flush=True)
        for check in (check_sessions, check_rate_limit, check_mail, check_rolling_restart, check_database_outage):
            try:
                check(site)
            except Exception as e:  # a check that could not even run is a failure
                record(check.__name__, False, f"{type(e).__name__}: {e}")
    finally:
        failed = any(outcome != "pass" for _, outcome, _ in RESULTS)
        if failed:
            for i in site.instances:
                print(f"--- instance {i.n} log (last lines) ---\n{i.tail()}")
        site.close(keep=args.keep or failed)
    print(f"\nscale-out test, {len(site.instances)} instances behind nginx, {time.time() - started:.0f} s:")
    width = max(len(c) for c, _, _ in RESULTS)
    for check, outcome, detail in RESULTS:
        print(f"  {outcome:4}  {check:{width}}  {detail}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
