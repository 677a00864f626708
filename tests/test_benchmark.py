"""The benchmark (bench/, `python -m bench`): it counts wrong answers as errors, seeds the users wrk signs in
as, its database-bound ceiling answers only after finding its session row, and a correct run, briefly, reports
no errors and figures that hold together against both ceilings (not whether targets are met).
The admin scenario (`python -m bench.admin`): its seeded audit trail has the shape it says, and a tiny run answers
every page, each query through an index."""

import argparse
import collections
import contextlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.test import Client

from wsgiauth.accounts import name_key
from wsgiauth.audit import EVENTS

from bench import admin, ceiling, report, runner, seed, targets
from bench.load import Load
from conftest import TEST_PASSWORD_METHOD, querying, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def wrk_and_gunicorn():
    """Skip (fail under CI) where the benchmark's tools are missing."""
    if shutil.which("wrk") is None:
        skip_or_fail("wrk not found on PATH; install it with: apt-get install -y wrk")
    if importlib.util.find_spec("gunicorn") is None:
        skip_or_fail("gunicorn is not installed; pip install -e '.[test]'")


def bench_options(*args):
    """Return the benchmark's options as `python -m bench *args` would parse them."""
    parser = argparse.ArgumentParser()
    runner.add_arguments(parser)
    return parser.parse_args(args)


def test_answers_with_the_wrong_status_count_as_errors(wrk_and_gunicorn, tmp_path):
    options = bench_options("--workers", "1", "--password-method", TEST_PASSWORD_METHOD)
    bench = runner.Bench(options)
    with runner.databases("sqlite", options) as (new_url, _), contextlib.ExitStack() as stack:
        app = bench.serve(stack, "wsgiauth:create_app()", new_url(), tmp_path / "app.log")
        # A page that fails, and one that redirects (to sign in) where a 200 was expected.
        missing = bench.run(app, Load("GET", "/no-such-page", 200, 2), 1)
        redirected = bench.run(app, Load("GET", "/profile", 200, 2), 1)
    assert missing.requests > 0 and redirected.requests > 0
    assert missing.socket_errors == redirected.socket_errors == 0
    assert missing.non_2xx_3xx == missing.requests  # 404s: wrk's own count of failures
    assert missing.errors == missing.requests
    assert redirected.non_2xx_3xx == 0  # a 303 is a success to wrk, but not the answer expected
    assert redirected.errors == redirected.requests
    row = report.Row("SQLite", "GET /no-such-page", missing, [30.0])
    assert report.cells(row)[report.COLUMNS.index("Errors")] == str(missing.requests)
    assert report.markdown("Header.", [row]).endswith(f"Missed: SQLite GET /no-such-page: {missing.requests} errors.\n")


@pytest.mark.parametrize("dialect", ["sqlite", "mysql"])
def test_seeded_users_have_the_addresses_wrk_signs_in_with(dialect, request):
    options = bench_options()
    options.mysql_admin_url = request.getfixturevalue("mariadb_admin_url") if dialect == "mysql" else None
    users = seed.BATCH + 2  # two statements
    with runner.databases(dialect, options) as (new_url, _):
        url = new_url()
        db = seed.bench_database(url)
        seed.seed_users(db, 1, users, "one hash for all", 1_800_000_000)
        db.close()
        with querying(url) as query:
            rows = query("all_users_for_tests")
        version = runner.server_version(url)
    assert [(row["uid"], row["email"], row["firstname"], row["lastname"]) for row in rows] == [
        (n, seed.EMAIL % n, seed.FIRST_NAMES[n % 154], seed.LAST_NAMES[n % 173]) for n in range(1, users + 1)]
    assert all(row["name_key"] == name_key(row["firstname"], row["lastname"]) for row in rows)
    assert {(row["pwdhash"], row["confirmed_at"]) for row in rows} == {("one hash for all", None)}
    assert re.fullmatch({"sqlite": r"SQLite 3\.\d+\.\d+", "mysql": r"MariaDB \d+\.\d+\.\d+"}[dialect], version)


@pytest.mark.parametrize("dialect", ["sqlite", "mysql"])
def test_seeded_events_have_the_shape_the_admin_scenario_says(dialect, request, monkeypatch):
    options = bench_options()
    options.mysql_admin_url = request.getfixturevalue("mariadb_admin_url") if dialect == "mysql" else None
    monkeypatch.setattr(seed, "EVENTS_BATCH", 5_000)
    count, now = 97 * 101 + 1, 1_800_000_000  # three statements
    with runner.databases(dialect, options) as (new_url, _):
        url = new_url()
        db = seed.bench_database(url)
        seed.seed_users(db, 1, 500, "one hash for all", now)
        schema, indexes = seed.events_schema(db)
        seconds = {}
        with seed.events_indexes_dropped(db, seconds):
            assert seed.events_schema(db)[1] == []
            seed.seed_events(db, count, now, users=500, active=50, heavy=5, admin=1)
        assert seed.events_schema(db) == (schema, indexes) and len(indexes) == 5 and seconds["indexes"] > 0
        seed.seed_sessions(db, 50, now, users=500)
        db.close()
        with querying(url) as query:
            rows = query("security_events_for_tests")
            sessions = query("sessions_detail_for_tests")
    assert len({row["uid"] for row in sessions}) == 50 and all(row["expires_at"] > now for row in sessions)
    assert len(rows) == count
    times = [row["at"] for row in rows]
    assert times == sorted(times) and now - 3 * count - 3 == times[0] and times[-1] < now
    assert times[0] != times[1] == times[2] != times[3]  # pairs of events share a second: cursors need the id too
    kinds = collections.Counter(row["event"] for row in rows[:97 * 101])
    assert kinds == {event: 101 * share for event, share in seed.EVENT_MIX.items()} and set(kinds) <= EVENTS
    per_user = collections.Counter(row["uid"] for row in rows)
    assert set(per_user) <= set(range(1, 501)) and len(per_user) > 400  # most users have a few events
    heavy = collections.Counter(row["uid"] for row in rows[100::101])  # every 101st event: ids 101, 202, ...
    assert set(heavy) == {1, 2, 3, 4, 5} and sorted(heavy.values()) == [19, 19, 19, 20, 20]
    assert sum(per_user[uid] for uid in range(1, 51)) > count / 3  # the active tenth: a third of the rest
    assert {row["actor_uid"] for row in rows if row["event"] == "group_added"} == {1}
    assert {row["actor_uid"] for row in rows if row["event"] == "signin"} == {None}
    home = [row for row in rows if row["ip"] == admin.home_ip(row["uid"])]
    assert 0.8 < len(home) / count < 0.9  # six in seven from the user's own address
    assert all(row["ip"].startswith("198.19.") for row in rows if row not in home)


def test_the_admin_scenario_answers_every_page_through_an_index(wrk_and_gunicorn, tmp_path):
    # Tiny sizes: a run that works, not figures. SQLite's plans do not depend
    # on the table sizes (no ANALYZE), so they are those of the full run.
    output = tmp_path / "admin.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.admin", "--database", "sqlite", "--users", "2000", "--events", "20000",
         "--requests", "5", "--rounds", "1", "--warmup", "1", "--password-method", TEST_PASSWORD_METHOD,
         "--output", str(output)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    report_text = output.read_text(encoding="utf-8")
    assert report_text in done.stdout
    # On a busy machine a page can take 50 ms even here: the exit status says whether one did.
    assert done.returncode == (1 if "\nMissed: " in report_text else 0), done.stdout[-3000:]
    assert "answers not 200" not in report_text
    columns = ["Database", "Round (load avg.)", "Request", "Requests", "p50 ms", "p95 ms", "max ms", "Errors",
               "Rows/page", "Target"]
    rows = {row["Request"]: row for row in (dict(zip(columns, (cell.strip() for cell in line.split("|")[1:-1])))
                                            for line in report_text.splitlines() if line.startswith("| SQLite"))}
    assert list(rows) == [kind for kind, _ in admin.KINDS]
    for kind, has_target in admin.KINDS:
        row = rows[kind]
        assert (row["Requests"], row["Errors"]) == ("5", "0"), row
        assert 0 < number(row["p50 ms"]) <= number(row["p95 ms"]) <= number(row["max ms"]) < 10_000, row
        assert number(row["Rows/page"]) > 0 and row["Target"].startswith("p95 < 50 ms") == has_target, row
    for kind in ["user list by email, random page", "user list by name, random page"]:
        assert number(rows[kind]["Rows/page"]) > 40, rows[kind]  # pages from random users on: mostly full
    verdicts = re.findall(r"^((?:admin|audit)_\w+): (.*)$", report_text, re.MULTILINE)
    indexed = "every table through an index"
    assert dict(verdicts) == {
        **{query: indexed for query in ["admin_users_by_email", "admin_users_by_name", "admin_user", "audit_by_uid",
                                        "audit_by_ip", "audit_by_event", "audit_all"]},
        "admin_user_sessions": f"{indexed}; sorts one user's live sessions (USE TEMP B-TREE FOR ORDER BY)"}


def table_rows(markdown):
    """Return the table's data rows as {column: cell}."""
    return [dict(zip(report.COLUMNS, (cell.strip() for cell in line.split("|")[1:-1])))
            for line in markdown.splitlines() if line.startswith("| SQLite")]


def number(cell):
    """Return a table cell's figure as a float: "1,005.2" -> 1005.2."""
    return float(cell.replace(",", ""))


def test_a_short_run_reports_no_errors_and_plausible_figures(wrk_and_gunicorn, tmp_path):
    # SQLite only: the MariaDB run differs in the database alone, which the
    # seeding and ceiling tests cover. One second per case and a cheap hash.
    output = tmp_path / "benchmark.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--database", "sqlite", "--duration", "1", "--warmup", "0",
         "--users", "100", "1000", "--password-method", TEST_PASSWORD_METHOD, "--output", str(output)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    table = output.read_text(encoding="utf-8")
    assert table in done.stdout
    assert re.search(r"UTC: .+, \d+ cores, [\d.]+ GiB RAM, .+, kernel \S+; Python 3\.\d+\.\d+, SQLite 3\.\d+\.\d+, "
                     r"gunicorn [\d.]+, wrk .+; load average [\d.]+ [\d.]+ [\d.]+ before the run", table)
    assert "| " + " | ".join(report.COLUMNS) + " |" in table.splitlines()
    assert {"App CPU µs", "DB CPU µs", "Page ceiling", "DB-bound ceiling"} <= set(report.COLUMNS)
    assert not re.search(r": \d+ errors", table.splitlines()[-1])  # the closing line names no errors
    rows = {row["Case"]: row for row in table_rows(table)}
    cases = [case.name for case in targets.CASES]
    assert [case for case in rows if not case.startswith(("page ceiling", "database-bound ceiling", "host app alone"))
            ] == cases + ["POST /signin, 100 users", "POST /signin, 1,000 users"]
    assert len(rows) == 3 * len(cases) + 1 + 2  # two ceilings for each page case, the host app alone, sign-ins
    for case, row in rows.items():
        assert row["Errors"] == "0", f"{case}: {row['Errors']} errors"
        # A few requests at least, far fewer than a Python server can answer.
        assert 5 <= number(row["Requests/s"]) < 100_000, f"{case}: {row['Requests/s']} requests/s"
        assert 0 < number(row["p50 ms"]) <= number(row["p99 ms"]) < 30_000, case  # under wrk's timeout
        assert 10 <= number(row["CPU/request µs"]) < 1_000_000, case
        # SQLite runs in the workers: no database server's CPU to count.
        assert 0 < number(row["App CPU µs"]) <= number(row["CPU/request µs"]) and row["DB CPU µs"] == "0", case
        assert all(0 < float(mib) < 1024 for mib in row["Worker RSS MiB"].rstrip(" ✗").split(" / ")), case
    # 1 s slices on a machine that may be busy: the ratios' sizes say little
    # here (a page can even beat its ceiling), but they must be the figures'.
    for case in targets.CASES:
        row = rows[case.name]
        for kind, column in [("page ceiling", "Page ceiling"), ("database-bound ceiling", "DB-bound ceiling")]:
            top = next(row for name, row in rows.items()
                       if name.startswith(kind) and name.endswith(f"(alternating with {case.name})"))
            # The database-bound ceiling answers 200 only with its session
            # row: every request it answered found it (no errors, above).
            by_rps, by_cpu = re.fullmatch(r"(\d+)% \((\d+)% by CPU\)", row[column]).groups()
            assert percent_of(by_rps, row["Requests/s"], top["Requests/s"]), (case, row[column])
            assert percent_of(by_cpu, top["CPU/request µs"], row["CPU/request µs"]), (case, row[column])
        yardstick = report.CEILING_COLUMNS[case.yardstick]
        assert re.fullmatch(f"≥ {case.minimum:.0%} of {yardstick} [✓✗]", row["Target"]), (case, row["Target"])
    gate = rows["GET / behind the gate, signed in"]
    alone = rows["host app alone, GET / (alternating with the next row)"]
    by_rps = re.match(r"(\d+)% of the host app alone", gate["Ratio"])[1]
    assert percent_of(by_rps, gate["Requests/s"], alone["Requests/s"]), gate["Ratio"]
    for case in ["POST /signin, 100 users", "POST /signin, 1,000 users"]:
        ratio = re.match(r"(\d+)% of hash-bound ([\d,.]+)/s", rows[case]["Ratio"])
        assert ratio and percent_of(ratio[1], rows[case]["Requests/s"], ratio[2]), rows[case]["Ratio"]
    assert "p50" in rows["POST /signin, 1,000 users"]["Ratio"]  # against the fewest users


@pytest.mark.both_databases
def test_the_database_bound_ceiling_answers_only_when_its_session_row_is_found(database_url):
    now = 1_800_000_000
    db = seed.bench_database(database_url)
    seed.seed_users(db, 1, 1, "one hash for all", now)
    value = seed.ceiling_session(db, 1, now)
    db.close()
    with querying(database_url) as query:
        assert [(row["uid"], row["expires_at"]) for row in query("sessions_detail_for_tests")] == [(1, now + 86_400)]
    # The Cookie header as wrk sends it, not a cookie jar's.
    bound = Client(ceiling.create_database_bound(database_url), use_cookies=False)
    bare = Client(ceiling.create_app(), use_cookies=False)
    found = bound.get(ceiling.path(2_000), headers={"Cookie": f"{ceiling.COOKIE}={value}"})
    assert found.status_code == 200 and len(found.data) == 2_000
    assert (found.data, found.headers) == (bare.get(ceiling.path(2_000)).data, bare.get(ceiling.path(2_000)).headers)
    # Another id, none, or a path that names no page: no page.
    for headers, path in [({"Cookie": f"{ceiling.COOKIE}={value[::-1]}"}, ceiling.path(2_000)),
                          ({}, ceiling.path(2_000)), ({"Cookie": f"{ceiling.COOKIE}=é"}, ceiling.path(2_000)),
                          ({"Cookie": f"{ceiling.COOKIE}={value}"}, "/profile")]:
        assert bound.get(path, headers=headers).status_code == 404, (headers, path)
    with querying(database_url) as query:  # the ceiling only reads
        assert len(query("sessions_detail_for_tests")) == 1


def percent_of(percent, part, whole):
    """Tell whether a table's "84%" is the two cells' part / whole (give or take the rounding)."""
    return abs(int(percent) - 100 * number(part) / number(whole)) <= 2
