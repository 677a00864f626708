"""The benchmark's findings as a Markdown table, each figure next to its yardsticks and target."""

import dataclasses

from .targets import DB, PAGE, RSS_LIMIT_MIB

COLUMNS = ["Database", "Case", "Requests/s", "p50 ms", "p99 ms", "CPU/request µs", "App CPU µs", "DB CPU µs",
           "Errors", "Page ceiling", "DB-bound ceiling", "Ratio", "Target", "Worker RSS MiB"]
# A Check's column: the two ceilings have one each, anything else goes under Ratio.
CEILING_COLUMNS = {PAGE: "Page ceiling", DB: "DB-bound ceiling"}
CEILING_NAMES = {PAGE: "the page ceiling", DB: "the database-bound ceiling"}


@dataclasses.dataclass(frozen=True)
class Check:
    """One figure against its yardstick: "84 % of ceiling" against "≥ 70 %"."""

    ratio: str
    target: str
    ok: bool
    ceiling: str = ""  # PAGE or DB: a share of that ceiling, shown in its column


@dataclasses.dataclass
class Row:
    """One measured case."""

    database: str
    case: str
    result: object  # load.Result
    rss_mib: list
    checks: list = dataclasses.field(default_factory=list)
    # A ceiling or the host app alone: what wsgiauth is measured against,
    # held to no target of its own (not even the memory limit).
    yardstick: bool = False

    def over_limit(self) -> bool:
        """Tell whether one of wsgiauth's workers reached the memory limit."""
        return not self.yardstick and any(rss >= RSS_LIMIT_MIB for rss in self.rss_mib)

    def misses(self) -> list:
        """Return what about this row misses a target, as phrases."""
        missed = [f"{self.case}: {c.ratio}{' of ' + CEILING_NAMES[c.ceiling] if c.ceiling else ''}, "
                  f"target {c.target}" for c in self.checks if not c.ok]
        if self.result.errors:
            missed.append(f"{self.case}: {self.result.errors} errors")
        if self.over_limit():
            missed.append(f"{self.case}: a worker at {max(self.rss_mib):.1f} MiB")
        return [f"{self.database} {m}" for m in missed]


def at_least(value: float, minimum: float, of: str) -> Check:
    """Check a ratio that must reach minimum, e.g. 0.84 of the hash-bound maximum against 0.90."""
    return Check(f"{value:.0%} of {of}", f"≥ {minimum:.0%}", value >= minimum)


def at_most(value: float, maximum: float, of: str) -> Check:
    """Check a growth factor that must stay under maximum, e.g. 1.03× against 1.1×."""
    return Check(f"p50 {value:.2f}× {of}", f"≤ {maximum:g}×", value <= maximum)


def against(result, top, ceiling: str, minimum=None) -> Check:
    """Check a page's requests/s as a share of a ceiling's (PAGE or DB), the share by CPU/request beside it."""
    # Other jobs on the machine change requests/s a lot and CPU per request
    # much less: the CPU ratio says what the first would be on an idle machine.
    # A server that answered nothing (it hung, or wrk could not connect) is
    # at 0 %, and has no CPU per request to compare: its errors say why.
    share = result.rps / top.rps if top.rps else 0.0
    by_cpu = f"{top.cpu_us / result.cpu_us:.0%}" if result.cpu_us else "—"
    ratio = f"{share:.0%} ({by_cpu} by CPU)"
    if minimum is None:
        return Check(ratio, "", True, ceiling)
    return Check(ratio, f"≥ {minimum:.0%}", share >= minimum, ceiling)


def note(ratio: str) -> Check:
    """Return a figure shown for information, with no target."""
    return Check(ratio, "", True)


def cells(row: Row) -> list:
    """Return one row's table cells."""
    r = row.result
    mark = {True: "✓", False: "✗"}

    def ratios(ceiling):
        """Return the cell of the checks in one column."""
        return "; ".join(c.ratio for c in row.checks if c.ceiling == ceiling) or "—"

    def target(check):
        """Return a check's target with its yardstick, if a ceiling's, and its mark."""
        of = f" of {CEILING_COLUMNS[check.ceiling]}" if check.ceiling else ""
        return f"{check.target}{of} {mark[check.ok]}"

    db_cpu = "—" if r.db_cpu_us is None else f"{r.db_cpu_us:,.0f}"
    rss = " / ".join(f"{mib:.1f}" for mib in row.rss_mib) + (f" {mark[False]}" if row.over_limit() else "")
    return [
        row.database, row.case, f"{r.rps:,.1f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", f"{r.cpu_us:,.0f}",
        f"{r.app_cpu_us:,.0f}", db_cpu, str(r.errors), ratios(PAGE), ratios(DB), ratios(""),
        "; ".join(target(c) for c in row.checks if c.target) or "—",
        rss,
    ]


def markdown(header: str, rows: list) -> str:
    """Return the header paragraph, the table and a closing line saying which targets were missed."""
    lines = [header, "", "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    misses = [miss for row in rows for miss in row.misses()]
    lines += ["", "Missed: " + "; ".join(misses) + "." if misses else
              f"Every target met: the ratios above, zero errors, every worker under {RSS_LIMIT_MIB} MiB."]
    return "\n".join(lines) + "\n"
