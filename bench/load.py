"""Drive one case with wrk and read back its counts and latencies."""

import collections
import dataclasses
import os
import re
import resource
import shutil
import subprocess
from pathlib import Path

from .servers import cpu_seconds

WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
_RESULT = re.compile(r"^wrk-result (.*)$", re.MULTILINE)
_LATENCY = re.compile(r"^wrk-latency ?(.*)$", re.MULTILINE)


class WrkUnavailable(RuntimeError):
    """wrk is not installed."""


@dataclasses.dataclass(frozen=True)
class Load:
    """What one case sends: the same request over and over from `connections` clients."""

    method: str
    path: str
    expect: int  # the status every response must have
    connections: int
    cookie: str = ""  # Cookie header value
    body: str = ""  # form body; %07d becomes a random user number in 1..users
    users: int = 0
    many_clients: bool = False  # a made-up X-Forwarded-For per request (the app must trust one proxy)


@dataclasses.dataclass(frozen=True)
class Result:
    """What wrk measured for one case (or several runs of it, merged)."""

    requests: int
    seconds: float
    socket_errors: int  # connect, read, write and timeout errors
    non_2xx_3xx: int
    unexpected: int  # responses whose status was not the expected one (includes non_2xx_3xx)
    latency: tuple  # (microseconds, how many requests took that long), ascending
    cpu_seconds: float = 0.0  # CPU used by wrk, the app's processes and the database server meanwhile
    app_cpu_seconds: float = 0.0  # of which the gunicorn master and workers
    # of which the database server: 0 for SQLite (in the app's process),
    # None when it cannot be read (a MariaDB not started by the benchmark)
    db_cpu_seconds: float | None = 0.0

    @property
    def cpu_us(self) -> float:
        """Return the CPU time used per request, in microseconds."""
        return self.per_request_us(self.cpu_seconds)

    @property
    def app_cpu_us(self) -> float:
        """Return the app workers' CPU time per request, in microseconds."""
        return self.per_request_us(self.app_cpu_seconds)

    @property
    def db_cpu_us(self) -> float | None:
        """Return the database server's CPU time per request in microseconds, or None if unknown."""
        return None if self.db_cpu_seconds is None else self.per_request_us(self.db_cpu_seconds)

    def per_request_us(self, seconds) -> float:
        """Return seconds of CPU spread over the requests, in microseconds each."""
        return seconds / self.requests * 1e6 if self.requests else 0.0

    @property
    def rps(self) -> float:
        """Return completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        """Return every failed request: socket errors and wrong statuses."""
        return self.socket_errors + self.unexpected

    @property
    def p50_ms(self) -> float:
        """Return the median latency in milliseconds."""
        return self.percentile(50) / 1000

    @property
    def p99_ms(self) -> float:
        """Return the 99th percentile latency in milliseconds."""
        return self.percentile(99) / 1000

    def percentile(self, p) -> int:
        """Return the latency (µs) that p % of the requests did not exceed."""
        total = sum(count for _, count in self.latency)
        seen = 0
        for value, count in self.latency:
            seen += count
            if seen >= total * p / 100:
                return value
        return 0


def merged(results) -> Result:
    """Return several runs of one case as one Result: counts added, latencies pooled."""
    latency = collections.Counter()
    for result in results:
        latency.update(dict(result.latency))
    return Result(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        non_2xx_3xx=sum(r.non_2xx_3xx for r in results),
        unexpected=sum(r.unexpected for r in results),
        latency=tuple(sorted(latency.items())),
        cpu_seconds=sum(r.cpu_seconds for r in results),
        app_cpu_seconds=sum(r.app_cpu_seconds for r in results),
        db_cpu_seconds=None if any(r.db_cpu_seconds is None for r in results)
        else sum(r.db_cpu_seconds for r in results),
    )


def wrk_path() -> str:
    """Return the wrk executable, or explain how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise WrkUnavailable("wrk not found on PATH; install it with: apt-get install -y wrk")
    return path


def run_wrk(base_url: str, load: Load, seconds: int, pids=(), db_pids=()) -> Result:
    """Send load to base_url for `seconds`; return the Result, with the CPU of wrk, pids (the app) and db_pids."""
    # db_pids: the database server's processes; None when they cannot be
    # read (a MariaDB the benchmark did not start): its CPU is then unknown.
    before = _children_cpu(), cpu_seconds(pids), cpu_seconds(db_pids or ())
    # One wrk thread: the machine's cores belong to the server under test.
    command = [wrk_path(), "--threads", "1", "--connections", str(load.connections),
               "--duration", f"{max(1, int(seconds))}s", "--timeout", "30s", "--script", str(WRK_SCRIPT),
               base_url + load.path, "--", load.method, load.path, str(load.expect), str(load.users),
               "1" if load.many_clients else "0"]
    env = {**os.environ, "BENCH_COOKIE": load.cookie, "BENCH_BODY": load.body}
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=seconds + 120)
    wrk_used, app_used, db_used = (after - began for after, began in zip(
        (_children_cpu(), cpu_seconds(pids), cpu_seconds(db_pids or ())), before))
    counts, latency = _RESULT.search(done.stdout), _LATENCY.search(done.stdout)
    if done.returncode != 0 or not counts or not latency:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout[-2000:]}")
    fields = dict(item.split("=") for item in counts.group(1).split())
    return Result(
        requests=int(fields["requests"]),
        seconds=int(fields["duration_us"]) / 1e6,
        socket_errors=int(fields["socket_errors"]),
        non_2xx_3xx=int(fields["non_2xx_3xx"]),
        unexpected=int(fields["unexpected"]),
        latency=tuple(tuple(int(n) for n in pair.split(":")) for pair in latency.group(1).split()),
        cpu_seconds=wrk_used + app_used + db_used,
        app_cpu_seconds=app_used,
        db_cpu_seconds=None if db_pids is None else db_used,
    )


def _children_cpu() -> float:
    """Return the CPU time of this process's finished children (wrk, once it has exited), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
