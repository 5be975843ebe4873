#!/usr/bin/env python3
"""The scale-out test (issue 21): several processes of the release binary on
one Postgres database, behind nginx from the distribution's package, using
the shipped deploy/nginx/groundwork-proxy.conf, must behave as one site.

    .ci/scaleout.py BINARY [--instances 3] [--admin-url postgres://...]

Needs nginx on PATH and the aiosmtpd package (.ci/scaleout.sh sets both up).
Everything goes through real sockets: nginx on a free port, the instances on
free ports, an SMTP sink on a free port (scaleout_site.py). The checks, in
order: sessions and CSRF, the sign-in limit, mail exactly once (here); chat
fan-out with the stream's process killed (scaleout_chat.py); stock and the
payment webhook (scaleout_shop.py); a rolling restart and a database outage
under load (here). docs/deployment.md describes each. Prints a table of what
was checked with its counts; exits 1 when anything failed.
"""

import argparse
import concurrent.futures as cf
import os
import secrets
import signal
import sys
import threading
import time

from scaleout_site import (PASSWORD, RESULTS, Site, csrf_of, http_status, print_table, psql,
                           record, sign_up)
import scaleout_chat
import scaleout_shop

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
        checks = (check_sessions, check_rate_limit, check_mail, scaleout_chat.check_chat,
                  scaleout_shop.check_stock, scaleout_shop.check_webhook,
                  check_rolling_restart, check_database_outage)
        for check in checks:
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
    print_table(len(site.instances), time.time() - started)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
