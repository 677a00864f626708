"""The benchmark (bench/, `python -m bench`): it counts wrong answers as errors, seeds the users wrk signs in
as, and a correct run, briefly, reports no errors and figures that hold together (not whether targets are met)."""

import argparse
import contextlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import report, runner, seed
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
    assert [(row["uid"], row["email"], row["lastname"]) for row in rows] == [
        (n, seed.EMAIL % n, f"User {n}") for n in range(1, users + 1)]
    assert {(row["firstname"], row["pwdhash"], row["confirmed_at"]) for row in rows} == {
        ("Bench", "one hash for all", None)}
    assert re.fullmatch({"sqlite": r"SQLite 3\.\d+\.\d+", "mysql": r"MariaDB \d+\.\d+\.\d+"}[dialect], version)


def table_rows(markdown):
    """Return the table's data rows as {column: cell}."""
    return [dict(zip(report.COLUMNS, (cell.strip() for cell in line.split("|")[1:-1])))
            for line in markdown.splitlines() if line.startswith("| SQLite")]


def number(cell):
    """Return a table cell's figure as a float: "1,005.2" -> 1005.2."""
    return float(cell.replace(",", ""))


def test_a_short_run_reports_no_errors_and_plausible_figures(wrk_and_gunicorn, tmp_path):
    # SQLite only: the MariaDB run differs in the database alone, which the
    # seeding test above covers. One second per case and a cheap hash.
    output = tmp_path / "benchmark.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--database", "sqlite", "--duration", "1", "--warmup", "0",
         "--users", "100", "1000", "--password-method", TEST_PASSWORD_METHOD, "--output", str(output)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    table = output.read_text(encoding="utf-8")
    assert table in done.stdout
    assert re.search(r"SQLite 3\.\d+\.\d+; load average", table)
    assert not re.search(r": \d+ errors", table.splitlines()[-1])  # the closing line names no errors
    rows = {row["Case"]: row for row in table_rows(table)}
    assert [case for case in rows if not case.startswith(("ceiling", "host app alone"))] == [
        "GET /signin", "GET /profile", "GET /auth/verify", "GET / behind the gate, signed in",
        "POST /signin, 100 users", "POST /signin, 1,000 users"]
    assert len(rows) == 10  # and a yardstick for each of the four page cases
    for case, row in rows.items():
        assert row["Errors"] == "0", f"{case}: {row['Errors']} errors"
        # A few requests at least, far fewer than a Python server can answer.
        assert 5 <= number(row["Requests/s"]) < 100_000, f"{case}: {row['Requests/s']} requests/s"
        assert 0 < number(row["p50 ms"]) <= number(row["p99 ms"]) < 30_000, case  # under wrk's timeout
        assert 10 <= number(row["CPU/request µs"]) < 1_000_000, case
        assert all(0 < float(mib) < 1024 for mib in row["Worker RSS MiB"].split(" / ")), case
    # 1 s slices on a machine that may be busy: the ratios' sizes say little
    # here (a page can even beat its ceiling), but they must be the figures'.
    for case in ["GET /signin", "GET /profile", "GET /auth/verify"]:
        ceiling = next(row for name, row in rows.items() if name.endswith(f"(alternating with {case})"))
        by_rps, by_cpu = re.fullmatch(r"(\d+)% of ceiling; (\d+)% by CPU/request", rows[case]["Ratio"]).groups()
        assert percent_of(by_rps, rows[case]["Requests/s"], ceiling["Requests/s"]), rows[case]["Ratio"]
        assert percent_of(by_cpu, ceiling["CPU/request µs"], rows[case]["CPU/request µs"]), rows[case]["Ratio"]
    gate = rows["GET / behind the gate, signed in"]
    alone = rows["host app alone, GET / (alternating with the next row)"]
    by_rps = re.match(r"(\d+)% of the host app alone", gate["Ratio"])[1]
    assert percent_of(by_rps, gate["Requests/s"], alone["Requests/s"]), gate["Ratio"]
    for case in ["POST /signin, 100 users", "POST /signin, 1,000 users"]:
        ratio = re.match(r"(\d+)% of hash-bound ([\d,.]+)/s", rows[case]["Ratio"])
        assert ratio and percent_of(ratio[1], rows[case]["Requests/s"], ratio[2]), rows[case]["Ratio"]
    assert "p50" in rows["POST /signin, 1,000 users"]["Ratio"]  # against the fewest users


def percent_of(percent, part, whole):
    """Tell whether a table's "84%" is the two cells' part / whole (give or take the rounding)."""
    return abs(int(percent) - 100 * number(part) / number(whole)) <= 2
