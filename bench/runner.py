"""`python -m bench`: wsgiauth under gunicorn and wrk, side by side with the page and database-bound ceilings."""

import contextlib
import importlib.metadata
import itertools
import os
import platform
import secrets
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from wsgiauth.config import Settings
from wsgiauth.db import Database
from wsgiauth.migrations import migrate
from wsgiauth.passwords import Passwords

from . import ceiling, report
from .load import Load, merged, run_wrk, wrk_path
from .seed import PASSWORD, bench_database, ceiling_session, confirm_user, seed_users, signed_in_cookie
from .servers import gunicorn, http_request, mysql_databases
from .signins import SignIns
from .targets import ANONYMOUS, CASES, DB, FRESH, GATED, PAGE, SIGNED_IN

DATABASES = {"sqlite": "SQLite", "mysql": "MariaDB"}
# The longest a case with Confirm access (targets.FRESH) may take: within
# the app's window after its sign-in, with a minute to spare for warm-up.
FRESH_CASE_SECONDS = (Settings.CONFIRM_ACCESS_MINUTES - 1) * 60


def add_arguments(parser):
    """Declare the benchmark's command-line options."""
    add_server_arguments(parser)
    parser.add_argument("--duration", type=int, default=10, metavar="S", help="seconds per case (default 10)")
    parser.add_argument("--warmup", type=int, default=1, metavar="S",
                        help="seconds of unmeasured load before each case (default 1; 0 for none)")
    parser.add_argument("--users", type=int, nargs="+", default=[1_000, 1_000_000], metavar="N",
                        help="users in the table for each sign-in case (default 1000 1000000)")
    parser.add_argument("--connections", type=int, default=None,
                        help="wrk connections for the page cases (default: 4 per worker)")
    parser.add_argument("--output", metavar="FILE", help="also write the Markdown table to FILE")


def add_server_arguments(parser):
    """Declare the options of what is served, shared with the soak: databases, workers, hashing."""
    parser.add_argument("--database", choices=["sqlite", "mysql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="gunicorn workers (default: one per core)")
    parser.add_argument("--password-method",
                        default=os.environ.get("WSGIAUTH_PASSWORD_METHOD") or Settings.PASSWORD_METHOD,
                        help="hash method (default: WSGIAUTH_PASSWORD_METHOD or the app's)")
    parser.add_argument("--mysql-admin-url", default=os.environ.get("WSGIAUTH_TEST_MYSQL"),
                        help="an existing server to create scratch databases on "
                        "(default: WSGIAUTH_TEST_MYSQL, else a throwaway mariadbd)")
    parser.add_argument("--mysql-buffer-pool", metavar="SIZE",
                        help="the throwaway mariadbd's InnoDB buffer pool (default: the test suite's 32M; "
                        "2G for python -m bench.admin)")


def main(options) -> int:
    """Run the benchmark, print the table and write it to --output if given."""
    table = run(options)
    print(table, end="")
    if options.output:
        Path(options.output).write_text(table, encoding="utf-8")
    return 0


def run(options) -> str:
    """Measure every case on each chosen database; return the Markdown report."""
    bench = Bench(options)
    chosen = ["sqlite", "mysql"] if options.database == "both" else [options.database]
    # Every slice of a FRESH case, for each of the servers it alternates among.
    if 3 * (options.duration + options.warmup) > FRESH_CASE_SECONDS:
        raise SystemExit(f"--duration {options.duration}: a case signed in just before (Confirm access) would "
                         f"outlast the app's {Settings.CONFIRM_ACCESS_MINUTES} minutes; at most "
                         f"{FRESH_CASE_SECONDS // 3 - options.warmup} s")
    began, load_before = time.gmtime(), os.getloadavg()
    rows, versions = [], [f"Python {platform.python_version()}"]
    for dialect in chosen:
        with databases(dialect, options) as (new_url, db_pids):
            # SQLite runs inside the app's processes; a MariaDB the benchmark
            # did not start (--mysql-admin-url) has pids it cannot see: its
            # CPU is then unknown, not 0.
            bench.db_pids = db_pids if dialect == "sqlite" or db_pids else None
            db_rows, version = bench.database(dialect, new_url)
        rows += db_rows
        versions.append(version)
    versions += [f"gunicorn {importlib.metadata.version('gunicorn')}", wrk_version()]
    header = (
        f"wsgiauth benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', began)}: {machine()}; {', '.join(versions)}; "
        f"load average {' '.join(f'{n:.2f}' for n in load_before)} before the run, "
        f"{' '.join(f'{n:.2f}' for n in os.getloadavg())} after. "
        f"gunicorn with {options.workers} sync workers; wrk (1 thread) on the same machine with "
        f"{bench.connections} connections for pages, {options.workers} for sign-ins; {options.warmup} s of warm-up. "
        f"Each page case runs {options.duration} s in slices alternating with the two ceilings, under the same "
        f"gunicorn: the page ceiling (a bare Werkzeug app sending the same headers and a page of the case's size) "
        f"and the database-bound ceiling (the same app after one primary-key SELECT of the cookie's session row "
        f"through the same driver, on a connection kept per worker; 404 without the row). "
        f"Pages without a session are held to the first, pages that must look one up to the second. "
        f"Sign-ins use {options.password_method}, on one database per user count, in slices alternating "
        f"between the counts; the hash-bound maximum is {bench.cores} cores / the median time of one hash, "
        f"timed on every core at once between the slices. CPU/request is the CPU time of wrk, gunicorn and "
        f"the database server per request (App: the gunicorn master and workers; DB: the throwaway mariadbd, "
        f"0 for SQLite, which runs in the workers): the ratio of these (\"by CPU\") is what the requests/s ratio "
        f"would be on an otherwise idle machine. "
        f"Worker RSS is read once the workers are idle after each case."
    )
    return report.markdown(header, rows)


@contextlib.contextmanager
def databases(dialect, options):
    """Yield (function returning a new, empty, migrated database's URL, the database server's pids)."""
    with contextlib.ExitStack() as stack:
        if dialect == "sqlite":
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            numbers = itertools.count(1)
            create, pids = lambda: f"sqlite:///{folder}/bench{next(numbers)}.db", []  # noqa: E731
        else:
            pool = options.mysql_buffer_pool
            server_args = [f"--innodb-buffer-pool-size={pool}"] if pool else []
            create, pids = stack.enter_context(mysql_databases(options.mysql_admin_url, server_args))

        def new_url():
            """Create, migrate and return one more database."""
            url = create()
            db = Database(url)
            migrate(db)
            db.close()
            return url

        yield new_url, pids


def server_version(url) -> str:
    """Return the database's name and version, e.g. "MariaDB 10.11.6"."""
    db = bench_database(url)
    try:
        if db.dialect == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        return "MariaDB " + db.one("server_version")["version"].split("-")[0]
    finally:
        db.close()


def cpu_model() -> str:
    """Return the CPU model named in /proc/cpuinfo (or the platform's word for it)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """Return the machine in a few words: CPU model, cores, memory, operating system, kernel."""
    memory = "unknown memory"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 ** 2:.1f} GiB RAM"  # "MemTotal: 24634264 kB"
    system = platform.system()
    with contextlib.suppress(OSError):
        system = platform.freedesktop_os_release().get("PRETTY_NAME", system)  # "Debian GNU/Linux 12 (bookworm)"
    return f"{cpu_model()}, {os.cpu_count()} cores, {memory}, {system}, kernel {platform.release()}"


def wrk_version() -> str:
    """Return wrk's version as it gives it ("wrk 4.1.0"), or "wrk" if it says none."""
    done = subprocess.run([wrk_path(), "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return " ".join(done.stdout.split()[:2]) if done.stdout.startswith("wrk ") else "wrk"


class Bench:
    """The cases of one run, shared by both databases."""

    def __init__(self, options):
        self.options = options
        self.passwords = Passwords(options.password_method)
        self.pwdhash = self.passwords.hash(PASSWORD)
        self.cores = os.cpu_count()
        self.workers = options.workers
        self.connections = options.connections or 4 * options.workers
        self.users = sorted(set(options.users))
        self.db_pids = []  # the database server's processes, whose CPU counts too

    def env(self, url, **settings):
        """Return the environment for gunicorn: only this run's WSGIAUTH_* settings."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("WSGIAUTH_")}
        # A fresh secret per server: nothing signed here is valid anywhere else.
        env.update(WSGIAUTH_DATABASE=url, WSGIAUTH_SECRET_KEY=secrets.token_urlsafe(32),
                   WSGIAUTH_PASSWORD_METHOD=self.options.password_method)
        env.update({f"WSGIAUTH_{name}": str(value) for name, value in settings.items()})
        return env

    def serve(self, stack, app_spec, url, log_path, **settings):
        """Start gunicorn for app_spec on url's database until the stack closes; return the server."""
        return stack.enter_context(gunicorn(app_spec, self.workers, self.env(url, **settings), log_path))

    def seeded(self, new_url, users):
        """Return the URL of a new database holding `users` users."""
        url = new_url()
        db = bench_database(url)
        now = int(time.time())
        seed_users(db, 1, users, self.pwdhash, now)
        # The profile case signs in as user 1: a confirmed user sees the
        # usual profile, without the "not confirmed yet" warning.
        confirm_user(db, 1, now)
        db.close()
        return url

    def run(self, server, load, seconds):
        """Run load against server; the Result counts the CPU of wrk, gunicorn and the database server."""
        return run_wrk(server.base_url, load, seconds, pids=server.pids(), db_pids=self.db_pids)

    def warm_up(self, server, load):
        """Send unmeasured load first: templates compile, connections open."""
        if self.options.warmup > 0:
            run_wrk(server.base_url, load, self.options.warmup)

    def alternate(self, turns):
        """Run each (server, load) of turns in 2 s slices, taking turns; return a (Result, RSS) for each."""
        # Taking turns, all see the same background load on a shared machine.
        for server, load in turns:
            self.warm_up(server, load)
        rounds = max(1, self.options.duration // 2)
        seconds = max(1, self.options.duration // rounds)
        runs = [[] for _ in turns]
        for _ in range(rounds):
            for (server, load), done in zip(turns, runs):
                done.append(self.run(server, load, seconds))
        return [(merged(done), rss(server)) for (server, _), done in zip(turns, runs)]

    def database(self, dialect, new_url):
        """Run every case on one kind of database; return (rows, "MariaDB 10.11.x"-like version)."""
        name = DATABASES[dialect]
        url = self.seeded(new_url, self.users[0])
        db = bench_database(url)
        ceiling_cookie = f"{ceiling.COOKIE}={ceiling_session(db, self.users[0], int(time.time()))}"
        db.close()
        rows = []
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            app = self.serve(stack, "wsgiauth:create_app()", url, Path(tmp, "app.log"))
            ceilings = Ceilings(self.serve(stack, "bench.ceiling:create_app()", url, Path(tmp, "ceiling.log")),
                                self.serve(stack, "bench.ceiling:create_database_bound()", url,
                                           Path(tmp, "database-bound.log")),
                                ceiling_cookie, self.connections)
            ceilings.check()
            bare = self.serve(stack, "bench.host:create_bare()", url, Path(tmp, "host.log"))
            gated = self.serve(stack, "bench.host:create_gated()", url, Path(tmp, "gated.log"))
            profile_cookie = signed_in_cookie(app.base_url)
            gate_cookie = signed_in_cookie(gated.base_url + "/accounts")
            for case in CASES:
                if case.visitor == GATED:
                    rows += self.page_rows(name, case, gated, gate_cookie, ceilings, bare)
                    continue
                # FRESH: a page that needs Confirm access. A sign-in confirms
                # it for the next WSGIAUTH_CONFIRM_ACCESS_MINUTES (run()
                # keeps the case shorter than that).
                cookie = {ANONYMOUS: "", SIGNED_IN: profile_cookie, FRESH: None}[case.visitor]
                rows += self.page_rows(name, case, app, signed_in_cookie(app.base_url) if cookie is None else cookie,
                                       ceilings)
            # One app per user count, each on its own database (the first
            # count's is the one above). Sign-ins come from made-up clients
            # behind one trusted proxy, as a real site's would: from one IP,
            # per-IP rate limits would rightly stop them.
            urls = [url] + [self.seeded(new_url, users) for users in self.users[1:]]
            apps = [self.serve(stack, "wsgiauth:create_app()", users_url, Path(tmp, f"signin-{users}.log"),
                               TRUSTED_PROXIES=1) for users, users_url in zip(self.users, urls)]
            rows += SignIns(self, name, list(zip(self.users, apps))).rows()
        return rows, server_version(url)

    def page_rows(self, name, case, server, cookie, ceilings, host=None):
        """Measure one page case in slices alternating with both ceilings (and the host app alone, if given)."""
        status, _, page = http_request(server.base_url, "GET", case.path, headers={"Cookie": cookie} if cookie else {})
        if status != 200:
            raise RuntimeError(f"{case.name} answered {status} to a browser {case.visitor}, not 200")
        size = len(ceiling.page(len(page.encode("utf-8"))))
        load = Load("GET", case.path, 200, self.connections, cookie=cookie)
        turns = [(ceilings.page, ceilings.load(size)), (ceilings.database_bound, ceilings.load(size))]
        turns += [(host, load)] if host else []
        (page_top, page_rss), (db_top, db_rss), *measured = self.alternate(turns + [(server, load)])
        rows = [report.Row(name, f"page ceiling, {size:,}-byte page (alternating with {case.name})", page_top,
                           page_rss, yardstick=True),
                report.Row(name, f"database-bound ceiling, {size:,}-byte page (alternating with {case.name})",
                           db_top, db_rss, yardstick=True)]
        (result, server_rss) = measured[-1]
        checks = [report.against(result, page_top, PAGE, case.minimum if case.yardstick == PAGE else None),
                  report.against(result, db_top, DB, case.minimum if case.yardstick == DB else None)]
        if host:
            # The host app alone: for information (the gate's own cost).
            (alone, alone_rss) = measured[0]
            rows.append(report.Row(name, "host app alone, GET / (alternating with the next row)", alone, alone_rss,
                                   [report.against(alone, page_top, PAGE), report.against(alone, db_top, DB)],
                                   yardstick=True))
            checks.append(report.note(f"{result.rps / alone.rps:.0%} of the host app alone; "
                                      f"{alone.cpu_us / result.cpu_us:.0%} by CPU/request"))
        rows.append(report.Row(name, case.name, result, server_rss, checks))
        return rows


class Ceilings:
    """The two ceiling servers of one database, and the request each case sends them."""

    def __init__(self, page, database_bound, cookie, connections):
        self.page = page
        self.database_bound = database_bound
        # Both get the cookie: the same request, so that the two differ only
        # in the database-bound one's round trip.
        self.cookie = cookie
        self.connections = connections

    def load(self, size):
        """Return the Load asking a ceiling for a size-byte page."""
        return Load("GET", ceiling.path(size), 200, self.connections, cookie=self.cookie)

    def check(self):
        """Fail unless the database-bound ceiling answers 200 with its session row and 404 without it."""
        cookie = {"Cookie": self.cookie}
        for server, headers, expected in [(self.page, cookie, 200), (self.database_bound, cookie, 200),
                                          (self.database_bound, {"Cookie": f"{ceiling.COOKIE}=none"}, 404)]:
            status, _, _ = http_request(server.base_url, "GET", ceiling.path(1000), headers=headers)
            if status != expected:
                raise RuntimeError(f"the ceiling at {server.base_url} answered {status}, not {expected}")


def rss(server):
    """Return each worker's resident memory (MiB) once it has finished its last request."""
    server.wait_until_idle()
    return server.worker_rss_mib()
