"""The benchmark command runs end to end, briefly, on both databases (its figures are not judged here)."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import TEST_PASSWORD_METHOD, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
CASES = ["GET /signin", "GET /profile", "POST /signin, 100 users", "POST /signin, 1,000 users"]


def table_rows(markdown):
    """Return the table's data rows as lists of stripped cells."""
    return [[cell.strip() for cell in line.split("|")[1:-1]]
            for line in markdown.splitlines() if line.startswith(("| SQLite", "| MariaDB"))]


def test_benchmark_prints_and_writes_its_table_with_no_errors(mariadb_admin_url, tmp_path):
    if shutil.which("wrk") is None:
        skip_or_fail("wrk not found on PATH; install it with: apt-get install -y wrk")
    if importlib.util.find_spec("gunicorn") is None:
        skip_or_fail("gunicorn is not installed; pip install -e '.[test]'")
    output = tmp_path / "benchmark.md"
    # One second per case and a cheap hash: this keeps the command from
    # rotting; the real figures come from the full run in the README.
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--database", "both", "--duration", "1", "--warmup", "0",
         "--users", "100", "1000", "--password-method", TEST_PASSWORD_METHOD,
         "--mysql-admin-url", mariadb_admin_url, "--output", str(output)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    table = output.read_text(encoding="utf-8")
    assert table in done.stdout
    rows = table_rows(table)
    measured = {(row[0], row[1]) for row in rows}
    for database in ["SQLite", "MariaDB"]:
        assert {(database, case) for case in CASES} <= measured
        assert sum(1 for row in rows if row[0] == database and row[1].startswith("ceiling")) == 2
    for database, case, rps, p50, p99, cpu, errors, ratio, target, rss in rows:
        assert errors == "0", f"{database} {case}: {errors} errors"
        assert float(rps.replace(",", "")) > 0 and float(p50) > 0 and float(cpu.replace(",", "")) > 0
        assert all(0 < float(mib) < 1024 for mib in rss.split(" / ")), rss
        assert ratio == "—" or "of ceiling" in ratio or "of hash-bound" in ratio
