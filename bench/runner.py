"""`python -m bench`: wsgiauth under gunicorn and wrk, side by side with the ceiling."""

import contextlib
import itertools
import os
import platform
import secrets
import sqlite3
import tempfile
import time
from pathlib import Path

from wsgiauth.config import Settings
from wsgiauth.db import Database
from wsgiauth.migrations import migrate
from wsgiauth.passwords import Passwords

from . import report
from .load import Load, merged, run_wrk
from .seed import PASSWORD, bench_database, confirm_user, seed_users, signed_in_cookie
from .servers import gunicorn, http_request, mysql_databases
from .signins import SignIns

DATABASES = {"sqlite": "SQLite", "mysql": "MariaDB"}
# The targets for the pages, as ratios to the ceiling measured in one run.
SIGNIN_PAGE_MIN = 0.70
PROFILE_MIN = {"sqlite": 0.60, "mysql": 0.50}
# A host page behind the gate, signed in, against the same host app alone,
# and the forward-auth endpoint against the ceiling (issue 13; no target on MariaDB).
GATE_MIN = {"sqlite": 0.60, "mysql": 0.45}
VERIFY_MIN = {"sqlite": 0.60, "mysql": None}


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
    load_before = os.getloadavg()[0]
    rows, versions = [], [f"Python {platform.python_version()}"]
    for dialect in chosen:
        with databases(dialect, options) as (new_url, bench.db_pids):
            db_rows, version = bench.database(dialect, new_url)
        rows += db_rows
        versions.append(version)
    header = (
        f"wsgiauth benchmark, {time.strftime('%Y-%m-%d')}: {cpu_model()}, {bench.cores} cores, "
        f"{', '.join(versions)}; load average {load_before:.1f} before the run. "
        f"gunicorn with {options.workers} sync workers; wrk (1 thread) on the same machine with "
        f"{bench.connections} connections for pages, {options.workers} for sign-ins; {options.warmup} s of warm-up. "
        f"Each page case runs {options.duration} s in slices alternating with the ceiling (a bare Werkzeug app "
        f"sending the same headers and a page of the profile page's size, under the same gunicorn). "
        f"Sign-ins use {options.password_method}, on one database per user count, in slices alternating "
        f"between the counts; the hash-bound maximum is {bench.cores} cores / the median time of one hash, "
        f"timed on every core at once between the slices. CPU/request is the CPU time of wrk, gunicorn and "
        f"the throwaway mariadbd per request: the ratio of these is what the requests/s ratio would be on an "
        f"otherwise idle machine. "
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
        return run_wrk(server.base_url, load, seconds, pids=server.pids() + self.db_pids)

    def warm_up(self, server, load):
        """Send unmeasured load first: templates compile, connections open."""
        if self.options.warmup > 0:
            run_wrk(server.base_url, load, self.options.warmup)

    def alternate(self, ceiling, app, load):
        """Run load against app in 2 s slices, each after a slice of the ceiling; return both (Result, RSS)."""
        # Taking turns, both see the same background load on a shared machine.
        ceiling_load = Load("GET", "/", 200, self.connections)
        self.warm_up(ceiling, ceiling_load)
        self.warm_up(app, load)
        rounds = max(1, self.options.duration // 2)
        seconds = max(1, self.options.duration // rounds)
        ceiling_runs, app_runs = [], []
        for _ in range(rounds):
            ceiling_runs.append(self.run(ceiling, ceiling_load, seconds))
            app_runs.append(self.run(app, load, seconds))
        return (merged(ceiling_runs), rss(ceiling)), (merged(app_runs), rss(app))

    def database(self, dialect, new_url):
        """Run every case on one kind of database; return (rows, "MariaDB 10.11.x"-like version)."""
        name = DATABASES[dialect]
        url = self.seeded(new_url, self.users[0])
        rows = []
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            app = self.serve(stack, "wsgiauth:create_app()", url, Path(tmp, "app.log"))
            profile_cookie = signed_in_cookie(app.base_url)
            status, _, page = http_request(app.base_url, "GET", "/profile", headers={"Cookie": profile_cookie})
            if status != 200:
                raise RuntimeError(f"GET /profile answered {status} to a signed-in browser")
            size = len(page.encode("utf-8"))
            ceiling = self.serve(stack, f"bench.ceiling:create_app({size})", url, Path(tmp, "ceiling.log"))
            for case, load, minimum in [
                ("GET /signin", Load("GET", "/signin", 200, self.connections), SIGNIN_PAGE_MIN),
                ("GET /profile", Load("GET", "/profile", 200, self.connections, cookie=profile_cookie),
                 PROFILE_MIN[dialect]),
                ("GET /auth/verify", Load("GET", "/auth/verify", 200, self.connections, cookie=profile_cookie),
                 VERIFY_MIN[dialect]),
            ]:
                (top, top_rss), (result, app_rss) = self.alternate(ceiling, app, load)
                ratio = result.rps / top.rps
                rows.append(report.Row(name, f"ceiling, {size:,}-byte page (alternating with {case})", top, top_rss))
                rows.append(report.Row(name, case, result, app_rss,
                                       [report.at_least(ratio, minimum, "ceiling") if minimum
                                        else report.note(f"{ratio:.0%} of ceiling"),
                                        report.note(f"{top.cpu_us / result.cpu_us:.0%} by CPU/request")]))
            rows += self.gate_rows(stack, name, dialect, url, tmp)
            # One app per user count, each on its own database (the first
            # count's is the one above). Sign-ins come from made-up clients
            # behind one trusted proxy, as a real site's would: from one IP,
            # per-IP rate limits would rightly stop them.
            urls = [url] + [self.seeded(new_url, users) for users in self.users[1:]]
            apps = [self.serve(stack, "wsgiauth:create_app()", users_url, Path(tmp, f"signin-{users}.log"),
                               TRUSTED_PROXIES=1) for users, users_url in zip(self.users, urls)]
            rows += SignIns(self, name, list(zip(self.users, apps))).rows()
        return rows, server_version(url)

    def gate_rows(self, stack, name, dialect, url, tmp):
        """Measure a host page behind the gate, signed in, alternating with the same host app alone."""
        bare = self.serve(stack, "bench.host:create_bare()", url, Path(tmp, "host.log"))
        gated = self.serve(stack, "bench.host:create_gated()", url, Path(tmp, "gated.log"))
        cookie = signed_in_cookie(gated.base_url + "/accounts")
        status, _, page = http_request(gated.base_url, "GET", "/", headers={"Cookie": cookie})
        if status != 200 or not page.startswith("Hello, user"):
            raise RuntimeError(f"the host page behind the gate answered {status}: {page[:60]!r}")
        (top, top_rss), (result, gated_rss) = self.alternate(
            bare, gated, Load("GET", "/", 200, self.connections, cookie=cookie))
        return [report.Row(name, "host app alone, GET / (alternating with the next row)", top, top_rss),
                report.Row(name, "GET / behind the gate, signed in", result, gated_rss,
                           [report.at_least(result.rps / top.rps, GATE_MIN[dialect], "the host app alone"),
                            report.note(f"{top.cpu_us / result.cpu_us:.0%} by CPU/request")])]


def rss(server):
    """Return each worker's resident memory (MiB) once it has finished its last request."""
    server.wait_until_idle()
    return server.worker_rss_mib()
