"""`python -m bench.soak`: wsgiauth under gunicorn and mixed traffic for 10 minutes, on SQLite and MariaDB.

The soak test of issue 14: does the app stay healthy under a steady, realistic load? Three targets,
each with a verdict line; the command exits with 1 if one is missed:

- no 5xx answer at all;
- every gunicorn worker's resident memory (VmRSS) grows by under 5 % from the end of the first
  minute (after the warm-up) to the end of the run;
- the p99 latency of the last minute is at most 1.5 x that of the first.

A fourth line checks the soak itself: every other answer is the one its flow expects (a 403 for a
lost CSRF token would mean the traffic was not what this says), no connection failed and no worker
was restarted.

The load is a Python load generator in this process, not wrk: the flows are stateful (a cookie
jar per browser, a CSRF token read from each form), which wrk's Lua script cannot follow per
connection. It runs one thread per connection (`--connections`, default 32), each sending its
requests over plain sockets (gunicorn's sync workers close every connection after the answer, so
there is nothing to keep alive, and http.client would cost more than twice the CPU). Each thread
repeatedly picks one of these flows at random, in these shares:

| Flow | Requests | Share of flows | Share of requests |
| --- | --- | --- | --- |
| signed in: GET /profile | 1 | 55 % | 51.8 % |
| signed in: GET / | 1 | 28 % | 26.3 % |
| signed out: GET / | 1 | 6 % | 5.6 % |
| signed out: GET /signin, and leave | 1 | 7.9 % | 7.4 % |
| profile update: GET /account, POST /account/name, GET /account (its notice) | 3 | 3 % | 8.5 % |
| sign in and out: GET /signin, POST /signin, GET /profile, POST /signout, GET / | 5 | 0.05 % | 0.24 % |
| wrong password: GET /signin, POST /signin | 2 | 0.02 % | 0.04 % |
| sign-up: GET /signup, POST /signup, GET /profile | 3 | 0.03 % | 0.08 % |

Password hashing is the production default (`WSGIAUTH_PASSWORD_METHOD`'s default, scrypt at
~0.3 s of a core per hash; `--password-method` to change it). One hash costs as much CPU as
~300 pages, so the three flows that hash (a sign-in, a wrong password, a sign-up: 1 in 1,000
flows, ~0.09 % of requests) are kept a small share, or they alone would fill the machine; at 700
requests/s they still take ~0.2 cores. Each connection's signed-in browser signs in once as
its own seeded user before the clock starts and stays signed in; the other flows use a new
browser each. Every browser has its own made-up address from 198.18.0.0/15 (the range set aside
for benchmarks) in X-Forwarded-For, behind one trusted proxy, as on a real site: from one address
the per-IP limits would rightly refuse the sign-ins and sign-ups. Sign-ins and wrong passwords
pick among 10,000 seeded users; sign-ups create new ones, and their confirmation mail goes to
.eml files in a temporary folder.

Per minute (`--interval`) it records the requests, their statuses and their p50 and p99 latency
(from sending the request to the last byte of the answer, connecting included); every 5 s it
samples each worker's VmRSS (workers: the children of the gunicorn master). A sample taken while a
worker hashes a password counts up to all of scrypt's 32 MiB buffer, which is given back when the
hash ends, so a worker's RSS at the end of a minute is the lowest of its 6 samples in that
minute's second half (with 3, every 10 s, a 10-minute run had a minute whose lowest was 12 MiB up).
It prints a Markdown table per database, the mix as it came out, and the verdicts; `--json FILE`
writes all of it as JSON. The load average and the CPU other processes used are in the output:
on a 2-core machine shared with other jobs, p99 moves with them. So is the server's CPU per
request (gunicorn's and the database server's), which moves much less: a creep would show there.
"""

import argparse
import collections
import contextlib
import itertools
import json
import logging
import os
import platform
import random
import resource
import socket
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from wsgiauth.config import Settings

from .load import Result
from .runner import Bench, add_server_arguments, cpu_model, databases, server_version
from .seed import EMAIL, PASSWORD, csrf_token
from .servers import cpu_seconds

log = logging.getLogger("bench.soak")

USERS = 10_000  # seeded users; connection n's signed-in browser is user n
RSS_GROWTH_MAX = 0.05
P99_GROWTH_MAX = 1.5
SAMPLES_PER_INTERVAL = 12  # every 5 s in a minute
NEW_PASSWORD = "soak test passphrase"  # for sign-ups: long enough, not common, not the name or address
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
TIMEOUT = 60  # seconds a connection may wait for one answer: a hung worker shows as failed requests
EXAMPLES_KEPT = 5  # unexpected answers kept per connection, to show what went wrong


class Tally:
    """What one connection saw: per interval, answers by (request, status) and latencies by request."""

    def __init__(self, intervals):
        self.statuses = [collections.Counter() for _ in range(intervals)]  # (request, status) -> count
        # request -> Counter(latency in µs -> count): the shape load.Result merges and takes percentiles of.
        self.latencies = [collections.defaultdict(collections.Counter) for _ in range(intervals)]
        self.requests = 0
        self.server_errors = 0
        self.examples = []  # {request, status, the start of the page} of the first unexpected answers

    def add(self, interval, request, status, microseconds, expected, page):
        """Count one answer (status 0: the connection failed)."""
        self.statuses[interval][request, status] += 1
        self.latencies[interval][request][microseconds] += 1
        self.requests += 1
        self.server_errors += status >= 500
        if not expected and len(self.examples) < EXAMPLES_KEPT:
            self.examples.append({"request": request, "status": status, "page": " ".join(page.split())[:300]})


def exchange(address, message):
    """Send one request on a new connection and read the answer to its end; return (status, Set-Cookie values, page)."""
    # Lean on purpose, where http.client would be simpler: it costs ~290 µs of
    # CPU per request here, this ~110 µs, and the load generator shares the
    # cores with the server. gunicorn's sync workers close the connection
    # after every answer (the request asks for it too), so an answer ends
    # where the stream ends; Content-Length tells one that was cut short.
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(message)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])  # "HTTP/1.1 200 OK"
    headers = [line.split(":", 1) for line in lines[1:]]
    length = [int(value) for name, value in headers if name.lower() == "content-length"]
    if length != [len(body)]:
        raise ValueError(f"{len(body)} bytes of a body whose Content-Length is {length or 'not given'}")
    return status, [value.strip() for name, value in headers if name.lower() == "set-cookie"], body.decode("utf-8")


class Browser:
    """One browser: its cookies and its made-up address; each request it sends is timed and counted."""

    def __init__(self, connection):
        self.connection = connection
        rng = connection.rng
        # 198.18.0.0/15 is set aside for benchmarks (RFC 2544).
        self.ip = f"198.{rng.randint(18, 19)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        self.cookies = {}

    def send(self, request, method, path, expect=(200,), form=None):
        """Send one request; return the page if its status is one of expect, else None (the flow stops)."""
        soak = self.connection.soak
        if soak.started and time.monotonic() >= soak.deadline:
            return None  # the run is over: not sent, not counted
        head = f"{method} {path} HTTP/1.1\r\nHost: {soak.host}\r\nConnection: close\r\nUser-Agent: {USER_AGENT}\r\n" \
               f"X-Forwarded-For: {self.ip}\r\n"
        if self.cookies:
            head += "Cookie: " + "; ".join(f"{name}={value}" for name, value in self.cookies.items()) + "\r\n"
        body = urlencode(form).encode("ascii") if form is not None else b""
        if form is not None:
            # A browser sends Origin with every POST; the app checks it.
            head += f"Content-Type: application/x-www-form-urlencoded\r\nOrigin: {soak.base_url}\r\n" \
                    f"Content-Length: {len(body)}\r\n"
        began = time.perf_counter()
        try:
            status, set_cookies, page = exchange(soak.address, (head + "\r\n").encode("latin-1") + body)
        except (OSError, ValueError, IndexError) as error:  # refused, reset, timed out, cut short, garbled
            status, set_cookies, page = 0, [], f"{type(error).__name__}: {error}"
        microseconds = int((time.perf_counter() - began) * 1e6)
        expected = status in expect
        if soak.started:
            self.connection.tally.add(soak.interval_now(), request, status, microseconds, expected, page)
        elif not expected:
            raise RuntimeError(f"{request} answered {status} before the soak began: {page[:300]}")
        self.keep_cookies(set_cookies)
        return page if expected else None

    def keep_cookies(self, set_cookies):
        """Store the response's cookies and forget those it expires, as a browser does."""
        for header in set_cookies:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def post_form(self, request, page, path, expect, **fields):
        """Post a form with the CSRF token of page (the page the form is on); return the answer's page or None."""
        token = page and csrf_token(page)
        if not token:
            return None
        return self.send(request, "POST", path, expect, form={"csrf_token": token, **fields})

    def sign_in(self, user, password=PASSWORD, expect=(303,)):
        """Load the sign-in form and post it as seeded user number `user`; return the answer's page or None."""
        page = self.send("GET /signin", "GET", "/signin")
        request = "POST /signin" if password == PASSWORD else "POST /signin, wrong password"
        return self.post_form(request, page, "/signin", expect, email=EMAIL % user, password=password)


class Connection:
    """One of the concurrent connections: a signed-in browser, and a thread sending flows until the run ends."""

    def __init__(self, soak, number):
        self.soak = soak
        self.number = number  # 1..connections: the seeded user its signed-in browser is
        self.rng = random.Random()
        self.tally = Tally(soak.intervals)
        self.me = Browser(self)
        self.signups = 0
        self.error = None  # the traceback, if the thread failed

    def sign_in_for_good(self):
        """Sign the connection's own browser in as its seeded user, before the run."""
        if self.me.sign_in(self.number) is None:
            raise RuntimeError(f"the sign-in form for user {self.number} had no CSRF token")

    def run(self):
        """Send flows chosen at random in the shares of MIX until the run is over."""
        try:
            while time.monotonic() < self.soak.deadline:
                flow = self.rng.choices(FLOWS, cum_weights=CUMULATIVE_WEIGHTS)[0]
                flow(self)
        except Exception:
            self.error = traceback.format_exc()

    def stranger(self):
        """Return a seeded user that no connection's signed-in browser is, for sign-ins and wrong passwords."""
        return self.rng.randint(self.soak.connections + 1, USERS)

    def profile(self):
        """Signed in: view the profile."""
        self.me.send("GET /profile", "GET", "/profile")

    def home(self):
        """Signed in: view the home page."""
        self.me.send("GET / (signed in)", "GET", "/")

    def home_signed_out(self):
        """A new visitor views the home page."""
        Browser(self).send("GET / (signed out)", "GET", "/")

    def signin_page(self):
        """A new visitor opens the sign-in page and leaves."""
        Browser(self).send("GET /signin", "GET", "/signin")

    def update_name(self):
        """Signed in: open the account settings, change the last name, see the notice."""
        page = self.me.send("GET /account", "GET", "/account")
        lastname = self.rng.choice(["Lovelace", "Hopper", "Turing", "Noether"])
        if self.me.post_form("POST /account/name", page, "/account/name", (303,), firstname="Bench",
                             lastname=lastname) is not None:
            self.me.send("GET /account", "GET", "/account")

    def sign_in_and_out(self):
        """A new browser signs in as a seeded user, views the profile and signs out."""
        browser = Browser(self)
        if browser.sign_in(self.stranger()) is None:
            return
        page = browser.send("GET /profile", "GET", "/profile")
        if browser.post_form("POST /signout", page, "/signout", (303,)) is not None:
            browser.send("GET / (signed out)", "GET", "/")

    def wrong_password(self):
        """A new browser tries a seeded user's address with a wrong password."""
        # 429 once the account's backoff starts (5 failures in 15 minutes):
        # the right answer too, if 10,000 users ever make it happen.
        Browser(self).sign_in(self.stranger(), password="not the password", expect=(200, 429))

    def signup(self):
        """A new browser signs up with a new address and lands on its profile."""
        browser = Browser(self)
        page = browser.send("GET /signup", "GET", "/signup")
        self.signups += 1
        email = f"soak{self.number}-{self.signups}-{self.rng.randrange(10**9)}@bench.invalid"
        if browser.post_form("POST /signup", page, "/signup", (303,), firstname="Soak", lastname="Visitor",
                             email=email, password=NEW_PASSWORD) is not None:
            browser.send("GET /profile", "GET", "/profile")


# The module docstring's table, in its order: (flow, flows in 10,000).
MIX = [
    (Connection.profile, 5_500),
    (Connection.home, 2_800),
    (Connection.home_signed_out, 600),
    (Connection.signin_page, 790),
    (Connection.update_name, 300),
    (Connection.sign_in_and_out, 5),
    (Connection.wrong_password, 2),
    (Connection.signup, 3),
]
FLOWS = [flow for flow, _ in MIX]
CUMULATIVE_WEIGHTS = list(itertools.accumulate(weight for _, weight in MIX))
HASHING = {"POST /signin", "POST /signin, wrong password", "POST /signup"}  # the requests that hash a password


class Soak:
    """One soak run against one server: where it is, how many connections, and the clock."""

    def __init__(self, options, base_url):
        self.base_url = base_url
        parts = urlsplit(base_url)
        self.host, self.address = parts.netloc, (parts.hostname, parts.port)
        self.connections = options.connections
        self.interval = options.interval
        self.intervals = options.duration // options.interval
        self.started = None  # time.monotonic() when the clock started
        self.deadline = float("inf")

    def interval_now(self):
        """Return the index of the interval the clock is in (the last one once the time is up)."""
        return min(int((time.monotonic() - self.started) // self.interval), self.intervals - 1)


def add_arguments(parser):
    """Declare the soak's command-line options."""
    add_server_arguments(parser)
    parser.add_argument("--duration", type=int, default=600, metavar="S", help="seconds of load (default 600)")
    parser.add_argument("--interval", type=int, metavar="S",
                        help="seconds per row of the table, the first and last of which are compared "
                        "(default 60, or a sixth of a --duration under 120)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")


def parse(argv=None):
    """Return the command line's options, with the interval's default filled in."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak",
                                     description="soak wsgiauth under gunicorn with mixed traffic (see README)")
    add_arguments(parser)
    options = parser.parse_args(argv)
    # A short trial still gets rows enough to compare the first and the last.
    options.interval = options.interval or (60 if options.duration >= 120 else max(1, options.duration // 6))
    if options.duration % options.interval or options.duration < 2 * options.interval:
        parser.error("--duration must be a multiple of --interval, at least two of them")
    if not 1 <= options.connections <= 256:
        parser.error("--connections must be 1 to 256")
    return options


def main(argv=None) -> int:
    """Run the soak on each chosen database; print the tables and verdicts; 1 if a target was missed."""
    options = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    chosen = ["sqlite", "mysql"] if options.database == "both" else [options.database]
    results = {"command": " ".join(["python -m bench.soak", *(argv if argv is not None else sys.argv[1:])]),
               "date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{cpu_model()}, {os.cpu_count()} cores",
               "python": platform.python_version(), "password_method": options.password_method,
               "password_method_is_default": options.password_method == Settings.PASSWORD_METHOD,
               "runs": []}
    for dialect in chosen:
        run = soak_database(dialect, options)
        results["runs"].append(run)
        print(report(run, results["date"]), flush=True)
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0 if all(check["ok"] for run in results["runs"] for check in run["checks"]) else 1


@contextlib.contextmanager
def served(dialect, options):
    """Serve the app with gunicorn on a new database holding USERS users; yield (server, URL, db pids, log path)."""
    bench = Bench(argparse.Namespace(password_method=options.password_method, workers=options.workers,
                                     connections=options.connections, users=[USERS]))
    with databases(dialect, options) as (new_url, db_pids), tempfile.TemporaryDirectory() as tmp, \
            contextlib.ExitStack() as stack:
        url = bench.seeded(new_url, USERS)
        log_path = Path(tmp, "gunicorn.log")
        # One trusted proxy: each browser's X-Forwarded-For is its address.
        # The confirmation mail of sign-ups goes to files that go with tmp.
        # Each connection's browser signs in once, before the run, and opens
        # the account settings throughout it: access stays confirmed for the
        # whole run (an hour more than it lasts), or that page would send it
        # to /confirm-access after 10 minutes, a flow the soak does not drive.
        server = bench.serve(stack, "wsgiauth:create_app()", url, log_path, TRUSTED_PROXIES=1,
                             MAIL_URL=f"file://{tmp}/outbox",
                             CONFIRM_ACCESS_MINUTES=options.duration // 60 + 60)
        yield server, url, db_pids, log_path


def soak_database(dialect, options) -> dict:
    """Serve the app on a fresh, seeded database of this kind and soak it; return the run's figures."""
    with served(dialect, options) as (server, url, db_pids, log_path):
        run = drive(Soak(options, server.base_url), server, db_pids)
        run.update(database=server_version(url), dialect=dialect, workers=options.workers,
                   connections=options.connections, duration_s=options.duration, interval_s=options.interval,
                   password_method=options.password_method, server_errors=error_lines(log_path))
    run["checks"] = checks(run)
    return run


def drive(soak, server, db_pids) -> dict:
    """Sign the connections in, send the load for the duration while sampling; return the figures."""
    connections = [Connection(soak, n) for n in range(1, soak.connections + 1)]
    log.info("signing in %d browsers (one password hash each)", len(connections))
    with ThreadPoolExecutor(len(connections)) as pool:
        list(pool.map(Connection.sign_in_for_good, connections))
    server.wait_until_idle()
    threads = [threading.Thread(target=c.run, name=f"soak-{c.number}", daemon=True) for c in connections]
    load_before = os.getloadavg()[0]
    cpu = CPU(server, db_pids)
    soak.started = time.monotonic()
    soak.deadline = soak.started + soak.intervals * soak.interval
    for thread in threads:
        thread.start()
    samples, machine = sample(soak, server, connections, cpu)
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT)  # at most one request of each is still under way
    elapsed = time.monotonic() - soak.started
    cpu_used = cpu.since_start()
    server.wait_until_idle()
    failed = [c.error for c in connections if c.error] + [f"{t.name} still running" for t in threads if t.is_alive()]
    if failed:
        raise RuntimeError("the load generator failed:\n" + "\n".join(failed))
    return figures(soak, connections, samples, machine, load_before, cpu_used, elapsed, server.rss_by_worker())


class CPU:
    """The CPU time used by the server (gunicorn and the database server), by this process and by the machine."""

    def __init__(self, server, db_pids):
        self.server = server
        self.db_pids = db_pids
        self.start = self.last = self.now()

    def now(self) -> tuple:
        """Return the seconds of CPU used so far: (the server, this process, every core busy with anything)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:8]]  # user nice system idle iowait irq softirq
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
        return cpu_seconds(self.server.pids() + self.db_pids), usage.ru_utime + usage.ru_stime, busy

    def since_start(self) -> tuple:
        """Return the CPU seconds used since the start: (the server, this process, the whole machine)."""
        return tuple(after - before for before, after in zip(self.start, self.now()))

    def since_last(self, seconds) -> dict:
        """Return the CPU seconds of the server and of this process, and the cores others used, since the last call."""
        now = self.now()
        server, mine, busy = (after - before for before, after in zip(self.last, now))
        self.last = now
        return {"server_cpu_s": server, "load_generator_cpu_s": mine,
                "other_processes_cores": round((busy - server - mine) / seconds, 2)}


def sample(soak, server, connections, cpu):
    """Sample each worker's RSS every interval / SAMPLES_PER_INTERVAL until the run ends; return (samples, machine)."""
    samples = []  # (interval, sample number in it from 1, {pid: MiB})
    machine = []  # per interval: the load average at its end, the CPU of the server, of this process and of others
    period = soak.interval / SAMPLES_PER_INTERVAL
    for n in range(1, soak.intervals * SAMPLES_PER_INTERVAL + 1):
        time.sleep(max(0.0, soak.started + n * period - time.monotonic()))
        interval, number = divmod(n - 1, SAMPLES_PER_INTERVAL)
        samples.append((interval, number + 1, server.rss_by_worker()))
        if number + 1 == SAMPLES_PER_INTERVAL:
            machine.append({"load_average": round(os.getloadavg()[0], 2), **cpu.since_last(soak.interval)})
            log.info("%d s: %d requests, %d x 5xx, worker RSS %s MiB, load average %.1f, other processes %.2f cores",
                     (interval + 1) * soak.interval, sum(c.tally.requests for c in connections),
                     sum(c.tally.server_errors for c in connections),
                     " / ".join(f"{mib:.1f}" for mib in rss_at_end(samples, interval).values()),
                     machine[-1]["load_average"], machine[-1]["other_processes_cores"])
    return samples, machine


def figures(soak, connections, samples, machine, load_before, cpu_used, elapsed, idle_rss) -> dict:
    """Merge what the connections saw into the run's figures, per interval and per request."""
    statuses = [collections.Counter() for _ in range(soak.intervals)]  # (request, status) -> count
    latencies = [collections.defaultdict(collections.Counter) for _ in range(soak.intervals)]  # request -> µs
    for tally in (c.tally for c in connections):
        for i in range(soak.intervals):
            statuses[i].update(tally.statuses[i])
            for request, latency in tally.latencies[i].items():
                latencies[i][request].update(latency)
    rows = []
    for i in range(soak.intervals):
        result = as_result(soak.interval, statuses[i], sum(latencies[i].values(), collections.Counter()))
        rows.append({"from_s": i * soak.interval, "to_s": (i + 1) * soak.interval, "requests": result.requests,
                     "requests_per_s": round(result.rps, 1), "statuses": by_status(statuses[i]),
                     "p50_ms": round(result.p50_ms, 1), "p99_ms": round(result.p99_ms, 1),
                     # CPU per request hardly moves with other jobs on the
                     # machine, as requests/s and latency do: it shows a creep.
                     "server_us_per_request": round(machine[i]["server_cpu_s"] / max(1, result.requests) * 1e6),
                     "load_generator_us_per_request":
                         round(machine[i]["load_generator_cpu_s"] / max(1, result.requests) * 1e6),
                     "worker_rss_mib": [round(mib, 2) for mib in rss_at_end(samples, i).values()],
                     "load_average": machine[i]["load_average"],
                     "other_processes_cores": machine[i]["other_processes_cores"]})
    everything = sum(statuses, collections.Counter())
    total = sum(everything.values())
    requests = {}
    for name in sorted({request for request, _ in everything}, key=lambda name: -everything_of(everything, name)):
        mine = collections.Counter({key: n for key, n in everything.items() if key[0] == name})
        result = as_result(elapsed, mine, sum((by_request[name] for by_request in latencies), collections.Counter()))
        requests[name] = {"requests": result.requests, "share": round(result.requests / total, 5),
                          "statuses": by_status(mine), "p50_ms": round(result.p50_ms, 1),
                          "p99_ms": round(result.p99_ms, 1)}
    server_cpu, own_cpu, busy = cpu_used
    first, last = rss_at_end(samples, 0), rss_at_end(samples, soak.intervals - 1)
    return {
        "seconds": round(elapsed, 1), "requests": total, "requests_per_s": round(total / elapsed, 1),
        "statuses": by_status(everything), "intervals": rows, "requests_by_kind": requests,
        "hashing_share": round(sum(r["requests"] for name, r in requests.items() if name in HASHING) / total, 5),
        "rss_mib": {"first": mib_by_pid(first), "last": mib_by_pid(last), "idle_after": mib_by_pid(idle_rss),
                    "workers_seen": sorted({pid for _, _, rss in samples for pid in rss} | set(idle_rss)),
                    # Every sample: (seconds since the start, {pid: MiB}).
                    "samples": [((i * SAMPLES_PER_INTERVAL + n) * soak.interval / SAMPLES_PER_INTERVAL,
                                 mib_by_pid(rss)) for i, n, rss in samples]},
        "load_average_before": round(load_before, 2),
        "cpu": {"server_us_per_request": round(server_cpu / total * 1e6),
                "load_generator_us_per_request": round(own_cpu / total * 1e6),
                "other_processes_cores": round((busy - server_cpu - own_cpu) / elapsed, 2)},
        "unexpected_examples": [example for c in connections for example in c.tally.examples][:20],
    }


def everything_of(statuses, name) -> int:
    """Return how many answers to request `name` a Counter of (request, status) holds."""
    return sum(n for (request, _), n in statuses.items() if request == name)


def mib_by_pid(rss) -> dict:
    """Return {pid: MiB} with the pids as strings and the sizes rounded, for JSON."""
    return {str(pid): round(mib, 2) for pid, mib in rss.items()}


def as_result(seconds, statuses, latency) -> Result:
    """Return the answers counted in statuses, with their latencies (a Counter of µs), as a load.Result."""
    return Result(
        requests=sum(statuses.values()), seconds=seconds,
        socket_errors=sum(n for (_, status), n in statuses.items() if status == 0),
        non_2xx_3xx=sum(n for (_, status), n in statuses.items() if status >= 400),
        unexpected=0, latency=tuple(sorted(latency.items())))


def by_status(statuses) -> dict:
    """Return {"200": count, ...} for a Counter of (request, status); "0" counts failed connections."""
    counts = collections.Counter()
    for (_, status), n in statuses.items():
        counts[str(status)] += n
    return dict(sorted(counts.items()))


def rss_at_end(samples, interval) -> dict:
    """Return {pid: MiB} at the end of an interval: each worker's lowest sample in its second half."""
    # The lowest: a sample taken during a password hash counts scrypt's
    # 32 MiB buffer, which the worker gives back when the hash ends.
    lowest = {}
    for at, number, rss in samples:
        if at == interval and number > SAMPLES_PER_INTERVAL // 2:
            for pid, mib in rss.items():
                lowest[pid] = min(mib, lowest.get(pid, mib))
    return lowest


def checks(run) -> list:
    """Return the verdict on each target: [{"target", "value", "ok"}]."""
    server_errors = sum(n for status, n in run["statuses"].items() if int(status) >= 500)
    first, last = run["rss_mib"]["first"], run["rss_mib"]["last"]
    same_workers = set(first) == set(last) and len(run["rss_mib"]["workers_seen"]) == run["workers"]
    growth = {pid: last[pid] / first[pid] - 1 for pid in first if pid in last}
    rows = run["intervals"]
    p99_ratio = rows[-1]["p99_ms"] / rows[0]["p99_ms"] if rows[0]["p99_ms"] else float("inf")
    # Answers no flow expects, other than the 5xx and failed connections counted on their own.
    unexpected = sum(n for name, kind in run["requests_by_kind"].items() for status, n in kind["statuses"].items()
                     if status not in EXPECTED[name] and 0 < int(status) < 500)
    failed = run["statuses"].get("0", 0)
    restarts = len(run["rss_mib"]["workers_seen"]) - run["workers"]
    return [
        {"target": "0 x 5xx", "ok": server_errors == 0,
         "value": f"{server_errors:,} x 5xx in {run['requests']:,} requests"},
        {"target": f"worker RSS growth < {RSS_GROWTH_MAX:.0%} from the first {span(run)} to the last",
         "ok": same_workers and all(
            g < RSS_GROWTH_MAX for g in growth.values()),
         "value": "; ".join(f"{first[pid]:.1f} -> {last[pid]:.1f} MiB ({g:+.1%})" for pid, g in growth.items())
         + ("" if same_workers else "; a worker was replaced")},
        {"target": f"p99 of the last {span(run)} <= {P99_GROWTH_MAX:g} x the first",
         "ok": p99_ratio <= P99_GROWTH_MAX,
         "value": f"{rows[-1]['p99_ms']:.1f} ms against {rows[0]['p99_ms']:.1f} ms ({p99_ratio:.2f} x)"},
        {"target": "the soak itself: expected answers, no failed connection, no worker restarted",
         "ok": unexpected == failed == restarts == 0,
         "value": f"{unexpected:,} unexpected answers, {failed:,} failed connections, {restarts} "
                  f"worker restarts"},
    ]


# The statuses each request may answer with (as strings, the JSON's keys).
EXPECTED = collections.defaultdict(lambda: {"200"}, {
    "POST /signin": {"303"}, "POST /signup": {"303"}, "POST /account/name": {"303"}, "POST /signout": {"303"},
    "POST /signin, wrong password": {"200", "429"},
})


def error_lines(log_path, most=20) -> list:
    """Return the first lines of gunicorn's log that tell of an error, a warning or a worker's end."""
    wanted = ("ERROR", "WARNING", "CRITICAL", "Traceback", "Worker exiting", "WORKER TIMEOUT")
    with open(log_path, errors="replace") as lines:
        found = [line.rstrip() for line in lines if any(word in line for word in wanted)]
    return found[:most]


def span(run) -> str:
    """Return what one row of the table covers: "minute", or "10 s"."""
    return "minute" if run["interval_s"] == 60 else f"{run['interval_s']} s"


def report(run, date) -> str:
    """Return one run as Markdown: a header, the table per interval, the mix and the verdicts."""
    cpu = run["cpu"]
    method = run["password_method"] + (" (the production default)" if run["password_method"] ==
                                       Settings.PASSWORD_METHOD else " (NOT the production default)")
    lines = [
        f"wsgiauth soak, {date}, {run['database']}: {run['duration_s']} s, "
        f"{run['connections']} connections, gunicorn with {run['workers']} sync workers; {cpu_model()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Password hashing {method} on "
        f"{run['hashing_share']:.3%} of requests (sign-ins, wrong passwords, sign-ups). "
        f"{run['requests']:,} requests, {run['requests_per_s']:,.1f}/s; CPU per request: server "
        f"{cpu['server_us_per_request']:,} µs, load generator {cpu['load_generator_us_per_request']:,} µs; "
        f"other processes used {cpu['other_processes_cores']:.2f} cores on average; load average "
        f"{run['load_average_before']:.1f} before the run.",
        "",
        "| Seconds | Requests | Requests/s | 2xx | 3xx | 4xx | 5xx | Failed | p50 ms | p99 ms | Server CPU µs/request "
        "| Worker RSS MiB | Load average | Others' cores |",
        "|" + " --- |" * 14,
    ]
    for row in run["intervals"]:
        classes = collections.Counter()
        for status, n in row["statuses"].items():
            classes[int(status) // 100] += n
        lines.append(f"| {row['from_s']}-{row['to_s']} | {row['requests']:,} | {row['requests_per_s']:,.1f} | "
                     + " | ".join(f"{classes[c]:,}" for c in (2, 3, 4, 5, 0))
                     + f" | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['server_us_per_request']:,} | "
                     f"{' / '.join(f'{mib:.1f}' for mib in row['worker_rss_mib'])} | {row['load_average']:.1f} | "
                     f"{row['other_processes_cores']:.2f} |")
    lines += ["", "| Request | Share | Requests | Statuses | p50 ms | p99 ms |", "|" + " --- |" * 6]
    for name, kind in run["requests_by_kind"].items():
        statuses = ", ".join(f"{status} x {n:,}" for status, n in kind["statuses"].items())
        lines.append(f"| {name} | {kind['share']:.2%} | {kind['requests']:,} | {statuses} | {kind['p50_ms']:.1f} | "
                     f"{kind['p99_ms']:.1f} |")
    idle = " / ".join(f"{mib:.1f}" for mib in run["rss_mib"]["idle_after"].values())
    lines += ["", f"Worker RSS: each worker's lowest sample in the second half of the {span(run)}; idle after the "
              f"run: {idle} MiB. Server CPU: gunicorn's and the database server's. Others' cores: the CPU other "
              "processes on the machine used, in cores.", ""]
    mark = {True: "✓", False: "✗"}
    lines += [f"{mark[check['ok']]} {check['target']}: {check['value']}" for check in run["checks"]]
    for example in run["unexpected_examples"]:
        lines.append(f"  unexpected: {example['request']} -> {example['status']}: {example['page'][:200]}")
    for line in run["server_errors"]:
        lines.append(f"  gunicorn: {line}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
