"""`python -m wsgiauth benchmark`: wsgiauth under gunicorn and wrk, side by side with the ceiling."""

import contextlib
import os
import platform
import secrets
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from ..config import Settings
from ..db import Database
from ..migrations import migrate
from ..passwords import Passwords
from . import report
from .load import Load, merged, run_wrk
from .seed import PASSWORD, anonymous_form, seed_users, signed_in_cookie, signin_body
from .servers import gunicorn, http_request, mysql_database

DATABASES = {"sqlite": "SQLite", "mysql": "MariaDB"}
# The targets, as ratios measured in one run.
SIGNIN_PAGE_MIN = 0.70
PROFILE_MIN = {"sqlite": 0.60, "mysql": 0.50}
SIGNIN_POST_MIN = 0.90
P50_GROWTH_MAX = 1.2


def add_arguments(parser):
    """Declare the benchmark's command-line options."""
    parser.add_argument("--database", choices=["sqlite", "mysql", "both"], default="both")
    parser.add_argument("--duration", type=int, default=10, metavar="S", help="seconds per case (default 10)")
    parser.add_argument("--warmup", type=int, default=1, metavar="S",
                        help="seconds of unmeasured load before each case (default 1; 0 for none)")
    parser.add_argument("--users", type=int, nargs="+", default=[1_000, 1_000_000], metavar="N",
                        help="users in the table for each sign-in case (default 1000 1000000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="gunicorn workers (default: one per core)")
    parser.add_argument("--connections", type=int, default=None,
                        help="wrk connections for the page cases (default: 4 per worker)")
    parser.add_argument("--password-method", default=os.environ.get("WSGIAUTH_PASSWORD_METHOD")
                        or Settings.PASSWORD_METHOD, help="hash method (default: WSGIAUTH_PASSWORD_METHOD or the app's)")
    parser.add_argument("--mysql-admin-url", default=os.environ.get("WSGIAUTH_TEST_MYSQL"),
                        help="an existing server to create a scratch database on "
                        "(default: WSGIAUTH_TEST_MYSQL, else a throwaway mariadbd)")
    parser.add_argument("--output", metavar="FILE", help="also write the Markdown table to FILE")


def main(options) -> int:
    """Run the benchmark, print the table and write it to --output if given."""
    table = run(options)
    print(table, end="")
    if options.output:
        Path(options.output).write_text(table, encoding="utf-8")
    return 0


def run(options) -> str:
    """Measure every case on each chosen database; return the Markdown report."""
    passwords = Passwords(options.password_method)
    bench = Bench(options, passwords)
    chosen = ["sqlite", "mysql"] if options.database == "both" else [options.database]
    load_before = os.getloadavg()[0]
    rows, versions = [], [f"Python {platform.python_version()}"]
    for dialect in chosen:
        with database_url(dialect, options) as url:
            db_rows, version = bench.database(dialect, url)
        rows += db_rows
        versions.append(version)
    header = (
        f"wsgiauth benchmark, {time.strftime('%Y-%m-%d')}: {cpu_model()}, {bench.cores} cores, "
        f"{', '.join(versions)}; load average {load_before:.1f} before the run. "
        f"gunicorn with {options.workers} sync workers; wrk (1 thread) on the same machine, "
        f"{bench.connections} connections for pages and {options.workers} for sign-ins. "
        f"Each page case runs {options.duration} s in {bench.rounds} slice(s), alternating with the ceiling "
        f"(a bare Werkzeug app sending a page of the profile page's size under the same gunicorn), "
        f"after {options.warmup} s of warm-up. Sign-ins use {options.password_method}; their hash-bound "
        f"maximum is {bench.cores} cores / the median time of one hash, timed just before and after each sign-in run. "
        f"Worker RSS is read once the workers are idle after each case."
    )
    return report.markdown(header, rows)


@contextlib.contextmanager
def database_url(dialect, options):
    """Yield the URL of a new, empty, migrated database of the given kind."""
    with contextlib.ExitStack() as stack:
        if dialect == "sqlite":
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/bench.db"
        else:
            url = stack.enter_context(mysql_database(options.mysql_admin_url))
        db = Database(url)
        migrate(db)
        db.close()
        yield url


def server_version(db) -> str:
    """Return the database's name and version, e.g. "MariaDB 10.11.6"."""
    if db.dialect == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with db.transaction() as tx:
        return "MariaDB " + tx.one("server_version")["version"].split("-")[0]


def cpu_model() -> str:
    """Return the CPU model named in /proc/cpuinfo (or the platform's word for it)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


class Bench:
    """The cases of one run, shared by both databases."""

    def __init__(self, options, passwords):
        self.options = options
        self.passwords = passwords
        self.pwdhash = passwords.hash(PASSWORD)
        self.cores = os.cpu_count()
        self.workers = options.workers
        self.connections = options.connections or 4 * options.workers
        # Short slices, alternating with the ceiling, so that both see the
        # same background load on a shared machine.
        self.rounds = max(1, options.duration // 2)
        self.users = sorted(set(options.users))

    def env(self, url):
        """Return the environment for gunicorn: only this run's WSGIAUTH_* settings."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("WSGIAUTH_")}
        # A fresh secret per run: nothing signed here is valid anywhere else.
        env.update(WSGIAUTH_DATABASE=url, WSGIAUTH_SECRET_KEY=secrets.token_urlsafe(32),
                   WSGIAUTH_PASSWORD_METHOD=self.options.password_method)
        return env

    def warm_up(self, server, load):
        """Send unmeasured load first: templates compile, connections open."""
        if self.options.warmup > 0:
            run_wrk(server.base_url, load, self.options.warmup)

    def alternate(self, ceiling, app, load):
        """Run load against app in slices, each after a slice of the ceiling; return both (Result, RSS)."""
        ceiling_load = Load("GET", "/", 200, self.connections)
        self.warm_up(ceiling, ceiling_load)
        self.warm_up(app, load)
        seconds = max(1, self.options.duration // self.rounds)
        ceiling_runs, app_runs = [], []
        for _ in range(self.rounds):
            ceiling_runs.append(run_wrk(ceiling.base_url, ceiling_load, seconds))
            app_runs.append(run_wrk(app.base_url, load, seconds))
        return (merged(ceiling_runs), self.rss(ceiling)), (merged(app_runs), self.rss(app))

    @staticmethod
    def rss(server):
        """Return each worker's resident memory once it has finished its last request."""
        server.wait_until_idle()
        return server.worker_rss_mib()

    def hash_times(self, count=3) -> list:
        """Return how long checking one password took, `count` times, in seconds."""
        times = []
        for _ in range(count):
            began = time.perf_counter()
            self.passwords.check(self.pwdhash, PASSWORD)
            times.append(time.perf_counter() - began)
        return times

    def database(self, dialect, url):
        """Run every case against one database; return (rows, "MariaDB 10.11.x"-like version)."""
        name = DATABASES[dialect]
        db = Database(url)
        seed_users(db, 1, self.users[0], self.pwdhash, int(time.time()))
        rows = []
        with tempfile.TemporaryDirectory() as tmp, \
                gunicorn("wsgiauth:create_app()", self.workers, self.env(url), Path(tmp, "app.log")) as app:
            profile_cookie = signed_in_cookie(app.base_url)
            status, _, page = http_request(app.base_url, "GET", "/profile", headers={"Cookie": profile_cookie})
            if status != 200:
                raise RuntimeError(f"GET /profile answered {status} to a signed-in browser")
            size = len(page.encode("utf-8"))
            ceiling_spec = f"wsgiauth.benchmark.ceiling:create_app({size})"
            with gunicorn(ceiling_spec, self.workers, self.env(url), Path(tmp, "ceiling.log")) as ceiling:
                for case, load, minimum in [
                    ("GET /signin", Load("GET", "/signin", 200, self.connections), SIGNIN_PAGE_MIN),
                    ("GET /profile", Load("GET", "/profile", 200, self.connections, cookie=profile_cookie),
                     PROFILE_MIN[dialect]),
                ]:
                    (top, top_rss), (result, rss) = self.alternate(ceiling, app, load)
                    rows.append(report.Row(name, f"ceiling, {size:,}-byte page (alternating with {case})",
                                           top, top_rss))
                    rows.append(report.Row(name, case, result, rss,
                                           [report.at_least(result.rps / top.rps, minimum, "ceiling")]))
            rows += self.signins(name, db, app)
        version = server_version(db)
        db.close()
        return rows, version

    def signins(self, name, db, app):
        """Time full sign-ins with each number of users in the table; return their rows."""
        # One anonymous cookie and its CSRF token serve every request: a
        # sign-in replaces the session it came with by a new one, and the
        # cookie's own id never has a row, so the pair stays valid.
        cookie, token = anonymous_form(app.base_url)
        rows, have = [], self.users[0]  # database() seeded the first count
        for users in self.users:
            seed_users(db, have + 1, users, self.pwdhash, int(time.time()))
            have = users
            # One connection per worker: each sign-in is CPU-bound, so more
            # connections would only add queueing to the latency.
            load = Load("POST", "/signin", 303, self.workers, cookie=cookie, body=signin_body(token), users=users)
            self.warm_up(app, load)
            app.wait_until_idle()
            # The hash is timed just before and just after the run, so that
            # the bound and the run see the same background load.
            times = self.hash_times()
            result = run_wrk(app.base_url, load, self.options.duration)
            rss = self.rss(app)
            bound = self.cores / statistics.median(times + self.hash_times())
            checks = [report.at_least(result.rps / bound, SIGNIN_POST_MIN, f"hash-bound {bound:,.1f}/s")]
            if rows:
                checks.append(report.at_most(result.p50_ms / rows[0].result.p50_ms, P50_GROWTH_MAX,
                                             f"{self.users[0]:,} users"))
            rows.append(report.Row(name, f"POST /signin, {users:,} users", result, rss, checks))
        return rows
