"""The benchmark's findings as a Markdown table, each figure next to its yardstick and target."""

import dataclasses

COLUMNS = ["Database", "Case", "Requests/s", "p50 ms", "p99 ms", "CPU/request µs", "Errors", "Ratio", "Target",
           "Worker RSS MiB"]
RSS_LIMIT_MIB = 40


@dataclasses.dataclass(frozen=True)
class Check:
    """One figure against its yardstick: "84 % of ceiling" against "≥ 70 %"."""

    ratio: str
    target: str
    ok: bool


@dataclasses.dataclass
class Row:
    """One measured case."""

    database: str
    case: str
    result: object  # load.Result
    rss_mib: list
    checks: list = dataclasses.field(default_factory=list)

    def misses(self) -> list:
        """Return what about this row misses a target, as phrases."""
        missed = [f"{self.case}: {c.ratio}, target {c.target}" for c in self.checks if not c.ok]
        if self.result.errors:
            missed.append(f"{self.case}: {self.result.errors} errors")
        if any(rss >= RSS_LIMIT_MIB for rss in self.rss_mib):
            missed.append(f"{self.case}: a worker at {max(self.rss_mib):.1f} MiB")
        return [f"{self.database} {m}" for m in missed]


def at_least(value: float, minimum: float, of: str) -> Check:
    """Check a ratio that must reach minimum, e.g. 0.84 of the ceiling against 0.70."""
    return Check(f"{value:.0%} of {of}", f"≥ {minimum:.0%}", value >= minimum)


def at_most(value: float, maximum: float, of: str) -> Check:
    """Check a growth factor that must stay under maximum, e.g. 1.03× against 1.2×."""
    return Check(f"p50 {value:.2f}× {of}", f"≤ {maximum:g}×", value <= maximum)


def note(ratio: str) -> Check:
    """Return a figure shown for information, with no target."""
    return Check(ratio, "", True)


def cells(row: Row) -> list:
    """Return one row's table cells."""
    r = row.result
    mark = {True: "✓", False: "✗"}
    return [
        row.database, row.case, f"{r.rps:,.1f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", f"{r.cpu_us:,.0f}",
        str(r.errors),
        "; ".join(c.ratio for c in row.checks) or "—",
        "; ".join(f"{c.target} {mark[c.ok]}" for c in row.checks if c.target) or "—",
        " / ".join(f"{rss:.1f}" for rss in row.rss_mib),
    ]


def markdown(header: str, rows: list) -> str:
    """Return the header paragraph, the table and a closing line saying which targets were missed."""
    lines = [header, "", "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    misses = [miss for row in rows for miss in row.misses()]
    lines += ["", "Missed: " + "; ".join(misses) + "." if misses else
              f"Every target met: the ratios above, zero errors, every worker under {RSS_LIMIT_MIB} MiB."]
    return "\n".join(lines) + "\n"
