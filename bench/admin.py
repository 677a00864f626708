"""`python -m bench.admin`: the admin area's pages with a million users and ten million audit events (issue 16).

The issue's target: the user search by email prefix, any page of the user list and any page of one
user's audit trail answer in under 50 ms at p95, on SQLite and on MariaDB. For each database it:

- seeds a fresh, migrated database in bulk (bench/seed.py, bench/queries.sql): --users users with
  names (154 first names x 173 surnames), user 1 in the group `admin`, and --events audit events over
  a year: users 1..5 ("heavy") ~20,000 each, users up to a tenth of --users ~40 each, the rest ~7;
- prints the plan of each admin query (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on MariaDB) with
  parameters like the pages', marking a full scan or a sort of the table;
- serves the app with gunicorn (sync workers, one per core) and, signed in as user 1, sends
  --requests requests of each kind one at a time (latency, not throughput) in --rounds rounds, the
  kinds shuffled together, after a few unmeasured ones: the search by the first 1-10 characters of
  a random user's address (user0123456@...: 1-6 alone would be only "u" to "user00") or name;
  the user list, by email and by name, from a random user on (the `after` cursor a page's Next link
  would carry); user 2's page, its audit trail from a random event on (`before`); and, with no
  target, the audit trail filtered by a random event kind, by a heavy user's IP, and unfiltered;
- reports p50, p95 and max per kind and round (from sending the request to the last byte of the
  answer, connecting included: gunicorn's sync workers close each connection), the rows a page
  showed on average, and errors: any answer but a 200.

Exit status 1 if a target is missed or any answer was not a 200.
"""

import argparse
import contextlib
import http.client
import logging
import math
import os
import platform
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from wsgiauth import accounts
from wsgiauth.config import Settings
from wsgiauth.views.admin import END, PAGE

from .runner import Bench, add_server_arguments, cpu_model, databases, server_version
from .seed import EMAIL, EVENT_MIX, bench_database, events_indexes_dropped, seed_events, seed_sessions, signed_in_cookie

log = logging.getLogger("bench.admin")

P95_MAX_MS = 50
HEAVY = 5  # users 1..HEAVY have the deep audit trails
ADMIN = 1  # the admin signed in: user 1, the one seed.signed_in_cookie signs in
WATCHED = 2  # the user whose audit trail is paged through
# (kind, whether the target applies); requests() makes the paths.
KINDS = [
    ("search by email prefix", True),
    ("search by name prefix", True),
    ("user list by email, random page", True),
    ("user list by name, random page", True),
    ("one user's page, audit trail at a random page", True),
    ("audit trail by event, random page", False),
    ("audit trail by IP, random page", False),
    ("audit trail unfiltered, random page", False),
]
# One row of a page: a user in the list, an event in an audit trail.
ROW = re.compile(rb'<td data-label="(?:Email|When)"')


def parse(argv=None):
    """Return the command line's options."""
    parser = argparse.ArgumentParser(prog="python -m bench.admin",
                                     description="the admin pages' latency with many users and events (see README)")
    add_server_arguments(parser)
    parser.add_argument("--users", type=int, default=1_000_000, help="users seeded (default 1000000)")
    parser.add_argument("--events", type=int, default=10_000_000, help="audit events seeded (default 10000000)")
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind per round (default 300)")
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds (default 2)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests of each kind first (default 5)")
    parser.add_argument("--output", metavar="FILE", help="also write the report (Markdown) to FILE")
    # About 3 GB of tables and indexes: a server for them would hold its
    # indexes in memory, not in the test suite's 32 MB.
    parser.set_defaults(mysql_buffer_pool="2G")
    options = parser.parse_args(argv)
    if options.users < 10 * HEAVY or options.events < 101 * HEAVY:
        parser.error(f"--users must be at least {10 * HEAVY} and --events at least {101 * HEAVY}")
    return options


def main(argv=None) -> int:
    """Seed, explain and measure on each chosen database; print the report; 1 if a target was missed."""
    options = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    chosen = ["sqlite", "mysql"] if options.database == "both" else [options.database]
    sections, missed = [], []
    load_before = os.getloadavg()[0]
    for dialect in chosen:
        section, misses = run_database(dialect, options)
        sections.append(section)
        missed += misses
    header = (f"wsgiauth admin benchmark, {time.strftime('%Y-%m-%d')}: {cpu_model()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}; load average {load_before:.1f} before the run. "
              f"{options.users:,} users, {options.events:,} audit events; gunicorn with {options.workers} sync "
              f"workers; one request at a time, {options.requests} of each kind per round after {options.warmup} "
              f"unmeasured; target p95 < {P95_MAX_MS} ms where marked.")
    verdict = ("Missed: " + "; ".join(missed) + "." if missed else
               f"Every target met: p95 under {P95_MAX_MS} ms where marked, every answer a 200.")
    report = "\n\n".join([header, *sections, verdict]) + "\n"
    print(report, end="")
    if options.output:
        Path(options.output).write_text(report, encoding="utf-8")
    return 1 if missed else 0


def run_database(dialect, options):
    """Seed a database of this kind, explain the queries, measure; return (Markdown section, misses)."""
    bench = Bench(argparse.Namespace(password_method=options.password_method, workers=options.workers,
                                     connections=None, users=[options.users]))
    with databases(dialect, options) as (new_url, _), tempfile.TemporaryDirectory() as tmp, \
            contextlib.ExitStack() as stack:
        url, seeding = seeded(bench, new_url, options)
        name = server_version(url)
        db = bench_database(url)
        try:
            sampler = Sampler(db, options.users)
            plans, unindexed = explain(sampler)
            warmup = sampler.requests(options.warmup)
            rounds = [sampler.requests(options.requests) for _ in range(options.rounds)]
        finally:
            db.close()
        server = bench.serve(stack, "wsgiauth:create_app()", url, Path(tmp, "app.log"))
        measured = []
        for number, paths in enumerate([warmup, *rounds]):
            # Signing in confirms access (10 minutes): once per round.
            cookie = signed_in_cookie(server.base_url)
            server.wait_until_idle()
            load = os.getloadavg()[0]
            results = measure(server.base_url, cookie, paths)
            if number:
                measured.append((load, results))
    rows, misses = table_rows(name, measured)
    misses += [f"{name} {query}: {problem}" for query, problem in unindexed]
    section = "\n".join([
        f"{name}: seeded in {seeding['total']:.0f} s: users {seeding['users']:.0f} s, events "
        f"{seeding['events']:.0f} s into security_events without its secondary indexes, then those indexes "
        f"{seeding['indexes']:.0f} s (built again as the migrations made them; checked), "
        f"{options.users // 10:,} sessions {seeding['sessions']:.0f} s.",
        "", "| Database | Round (load avg.) | Request | Requests | p50 ms | p95 ms | max ms | Errors | Rows/page "
        "| Target |", "|" + " --- |" * 10, *rows, "", f"Query plans ({name}):", "", "```", *plans, "```"])
    return section, misses


def seeded(bench, new_url, options):
    """Return (the URL of a new database with the users, the events and the admin, {step: seconds})."""
    seconds = {}
    began = time.monotonic()
    log.info("seeding %d users", options.users)
    url = bench.seeded(new_url, options.users)
    seconds["users"] = time.monotonic() - began
    db = bench_database(url)
    try:
        log.info("seeding %d audit events, then building the indexes of security_events", options.events)
        with events_indexes_dropped(db, seconds):
            began_events = time.monotonic()
            seed_events(db, options.events, int(time.time()), users=options.users, active=options.users // 10,
                        heavy=HEAVY, admin=ADMIN)
            seconds["events"] = time.monotonic() - began_events
        log.info("seeding %d live sessions", options.users // 10)
        began_sessions = time.monotonic()
        seed_sessions(db, options.users // 10, int(time.time()), options.users)
        seconds["sessions"] = time.monotonic() - began_sessions
        # User 1 joins the group admin as an operator's command would make the first admin.
        settings = Settings()
        db.transaction(lambda tx: accounts.add_to_group(settings, tx, None, ADMIN, accounts.ADMIN))
    finally:
        db.close()
    seconds["total"] = time.monotonic() - began
    log.info("seeded in %.0f s (%s)", seconds["total"], ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))
    return url, seconds


# -- what is asked ------------------------------------------------------

def audit_params(**filters):
    """Return an audit query's parameters as views/admin.py's audit_rows passes them, '' or -1 for "any"."""
    return {"uid": -1, "ip": "", "event": "", "since": 0, "before_at": 2**62, "before_id": 2**62, "limit": PAGE + 1,
            **filters}


def home_ip(uid):
    """Return the address most of uid's seeded events come from (bench/queries.sql seed_events)."""
    return f"198.18.{uid % 251}.{uid % 256}"


class Sampler:
    """Random requests of each kind, with cursors read from the seeded database."""

    def __init__(self, db, users, seed=1):
        self.db = db
        self.users = users
        self.rng = random.Random(seed)
        span = db.one("bench_event_span")
        self.first_at, self.last_at = span["first_at"], span["last_at"]

    def user(self):
        """Return a random user's row as the user list reads it (uid, email, name_key, ...)."""
        email = EMAIL % self.rng.randint(1, self.users)
        return self.db.one("admin_users_by_email", lo=email, hi=email + END, after="", limit=1)

    def cursor(self, query, **filters):
        """Return the `before` of the page that starts at a random moment of a trail: "<at>-<id>" of its event."""
        at = self.rng.randint(self.first_at, self.last_at)
        row = self.db.one(query, **audit_params(before_at=at, before_id=0, limit=1, **filters))
        return f"{row['at']}-{row['id']}" if row else ""

    def path(self, kind):
        """Return the path of one random request of this kind."""
        if kind == "search by email prefix":
            return "/admin?" + urlencode({"q": self.user()["email"][:self.rng.randint(1, 10)], "by": "email"})
        if kind == "search by name prefix":
            return "/admin?" + urlencode({"q": self.user()["name_key"][:self.rng.randint(1, 6)], "by": "name"})
        if kind == "user list by email, random page":
            return "/admin?" + urlencode({"by": "email", "after": self.user()["email"]})
        if kind == "user list by name, random page":
            user = self.user()
            return "/admin?" + urlencode({"by": "name", "after": f"{user['name_key']}\x1f{user['uid']}"})
        if kind == "one user's page, audit trail at a random page":
            return f"/admin/users/{WATCHED}?" + urlencode({"before": self.cursor("audit_by_uid", uid=WATCHED)})
        if kind == "audit trail by event, random page":
            event = self.rng.choice(sorted(EVENT_MIX))
            return "/admin/audit?" + urlencode({"event": event, "before": self.cursor("audit_by_event", event=event)})
        if kind == "audit trail by IP, random page":
            ip = home_ip(self.rng.randint(1, HEAVY))
            return "/admin/audit?" + urlencode({"ip": ip, "before": self.cursor("audit_by_ip", ip=ip)})
        assert kind == "audit trail unfiltered, random page"
        return "/admin/audit?" + urlencode({"before": self.cursor("audit_all")})

    def requests(self, count):
        """Return count random requests of each kind, shuffled together: [(kind, path)]."""
        paths = [(kind, self.path(kind)) for kind, _ in KINDS for _ in range(count)]
        self.rng.shuffle(paths)
        return paths


# -- the plans ----------------------------------------------------------

def explain(sampler) -> list:
    """Return (each admin query's plan with parameters like the pages', as lines; [(query, what is not indexed)])."""
    db = sampler.db
    now = int(time.time())
    user = sampler.user()
    middle = (sampler.first_at + sampler.last_at) // 2
    watched = db.one("audit_by_uid", **audit_params(uid=WATCHED, before_at=middle, before_id=0, limit=1))
    cursor = {"before_at": watched["at"], "before_id": watched["id"]}
    live = {"now": now, "idle_since": now - 3600, "remember_idle_since": now - 30 * 86400}
    # (query, parameters, what it may sort: None for nothing)
    cases = [
        ("admin_users_by_email", dict(lo="user01", hi="user01" + END, after=user["email"], limit=PAGE + 1), None),
        ("admin_users_by_name", dict(lo="", hi=END, after_key=user["name_key"], after_uid=user["uid"],
                                     limit=PAGE + 1), None),
        ("admin_user", dict(uid=WATCHED), None),
        ("admin_user_sessions", dict(uid=ADMIN, **live), "one user's live sessions"),
        ("audit_by_uid", audit_params(uid=WATCHED, **cursor), None),
        ("audit_by_ip", audit_params(ip=home_ip(WATCHED), **cursor), None),
        ("audit_by_event", audit_params(event="password_change", **cursor), None),
        ("audit_all", audit_params(**cursor), None),
    ]
    lines, unindexed = [], []
    for query, params, may_sort in cases:
        # The query's own text behind EXPLAIN, under a name of its own.
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
        db.queries["bench_explain"] = prefix + db.queries[query]
        plan = db.all("bench_explain", **params)
        scans, sorts = plan_problems(db.dialect, plan)
        verdict = "every table through an index"
        if scans or (sorts and not may_sort):
            verdict = "✗ " + "; ".join(scans + sorts)
            unindexed.append((query, verdict))
        elif sorts:
            verdict += f"; sorts {may_sort} ({'; '.join(sorts)})"
        shown = sqlite_plan(plan) if db.dialect == "sqlite" else mysql_plan(plan)
        lines += [f"{query}: {verdict}", *("    " + line for line in shown), ""]
    return lines[:-1], unindexed


def sqlite_plan(plan) -> list:
    """Return EXPLAIN QUERY PLAN's rows as an indented tree."""
    depth = {0: -1}
    lines = []
    for row in plan:
        depth[row["id"]] = depth.get(row["parent"], -1) + 1
        lines.append("  " * depth[row["id"]] + row["detail"])
    return lines


def mysql_plan(plan) -> list:
    """Return EXPLAIN's rows as aligned columns."""
    columns = ["id", "select_type", "table", "type", "key", "key_len", "ref", "rows", "Extra"]
    # Without the scratch database's name before each column in ref.
    cells = [columns] + [["" if row[c] is None else re.sub(r"\bwsgiauth_test_\w+\.", "", str(row[c]))
                          for c in columns] for row in plan]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]


def plan_problems(dialect, plan) -> tuple:
    """Return ([what reads a whole table or index], [what sorts]) in a plan."""
    if dialect == "sqlite":
        details = [row["detail"] for row in plan]
        return ([d for d in details if d.startswith("SCAN ") and not d.startswith("SCAN CONSTANT ROW")],
                [d for d in details if "TEMP B-TREE" in d])
    return ([f"{row['table']}: type {row['type']}" for row in plan if row["type"] in ("ALL", "index")],
            [f"{row['table']}: {row['Extra']}" for row in plan
             if "filesort" in (row["Extra"] or "") or "temporary" in (row["Extra"] or "")])


# -- the measurement ----------------------------------------------------

def measure(base_url, cookie, paths) -> list:
    """Send each request in turn; return [(kind, status, milliseconds, rows on the page)]."""
    parts = urlsplit(base_url)
    # http.client opens a new connection whenever the last answer closed it.
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    results = []
    try:
        for kind, path in paths:
            began = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            body = response.read()
            milliseconds = (time.perf_counter() - began) * 1000
            results.append((kind, response.status, milliseconds, len(ROW.findall(body))))
    finally:
        connection.close()
    return results


def percentile(values, p):
    """Return the nearest-rank p-th percentile of values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def table_rows(name, rounds):
    """Return (the table's rows, one per kind and round of [(load average, results)]; what missed, as phrases)."""
    rows, misses = [], []
    for number, (load, results) in enumerate(rounds, 1):
        for kind, has_target in KINDS:
            mine = [result for result in results if result[0] == kind]
            times = [ms for _, _, ms, _ in mine]
            errors = sum(1 for _, status, _, _ in mine if status != 200)
            p95 = percentile(times, 95)
            target = "—"
            if has_target:
                ok = p95 < P95_MAX_MS
                target = f"p95 < {P95_MAX_MS} ms {'✓' if ok else '✗'}"
                if not ok:
                    misses.append(f"{name} {kind} (round {number}): p95 {p95:.1f} ms")
            if errors:
                misses.append(f"{name} {kind} (round {number}): {errors} answers not 200")
            rows.append(f"| {name} | {number} ({load:.1f}) | {kind} | {len(mine)} | {percentile(times, 50):.1f} | "
                        f"{p95:.1f} | {max(times):.1f} | {errors} | {sum(r for *_, r in mine) / len(mine):.1f} | "
                        f"{target} |")
    return rows, misses


if __name__ == "__main__":
    sys.exit(main())
