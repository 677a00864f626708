"""Drive one case with wrk and read back its summary line."""

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path

WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
_RESULT = re.compile(r"^wrk-result (.*)$", re.MULTILINE)


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


@dataclasses.dataclass(frozen=True)
class Result:
    """What wrk measured for one case."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int  # connect, read, write and timeout errors
    non_2xx_3xx: int
    unexpected: int  # responses whose status was not the expected one (includes non_2xx_3xx)

    @property
    def rps(self) -> float:
        """Return completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        """Return every failed request: socket errors and wrong statuses."""
        return self.socket_errors + self.unexpected


def wrk_path() -> str:
    """Return the wrk executable, or explain how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise WrkUnavailable("wrk not found on PATH; install it with: apt-get install -y wrk")
    return path


def run_wrk(base_url: str, load: Load, seconds: int) -> Result:
    """Send load to base_url for `seconds` and return the measured Result."""
    # One wrk thread: the machine's cores belong to the server under test.
    command = [wrk_path(), "--threads", "1", "--connections", str(load.connections),
               "--duration", f"{max(1, int(seconds))}s", "--timeout", "30s", "--script", str(WRK_SCRIPT),
               base_url + load.path, "--", load.method, load.path, str(load.expect), str(load.users)]
    env = {**os.environ, "BENCH_COOKIE": load.cookie, "BENCH_BODY": load.body}
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=seconds + 120)
    match = _RESULT.search(done.stdout)
    if done.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout[-2000:]}")
    fields = dict(item.split("=") for item in match.group(1).split())
    return Result(
        requests=int(fields["requests"]),
        seconds=int(fields["duration_us"]) / 1e6,
        p50_ms=int(fields["p50_us"]) / 1e3,
        p99_ms=int(fields["p99_us"]) / 1e3,
        socket_errors=int(fields["socket_errors"]),
        non_2xx_3xx=int(fields["non_2xx_3xx"]),
        unexpected=int(fields["unexpected"]),
    )
