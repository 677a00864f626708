"""The processes a benchmark needs: gunicorn on a loopback port, and a MariaDB to point it at."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

# The test suite's throwaway MariaDB: test tooling, kept with the tests, which
# the benchmark borrows; like the tests, it runs from the repository's root.
from tests import mariadb

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_request(base_url, method, path, headers=None, body=None):
    """Send one request without following redirects; return (status, headers, body text)."""
    # base_url may end in a mount point (http://127.0.0.1:8000/accounts).
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(method, parts.path + path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8")
    finally:
        connection.close()


class Gunicorn:
    """A gunicorn master with sync workers serving one app on 127.0.0.1."""

    def __init__(self, app_spec, workers, env, log_path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
                   "--bind", f"127.0.0.1:{self.port}", app_spec]
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.workers = workers

    def wait_until_serving(self, timeout=60.0):
        """Wait until every worker is up and the port answers, or fail with the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            if len(self.worker_pids()) == self.workers:
                with contextlib.suppress(OSError):
                    http_request(self.base_url, "GET", "/")
                    return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        """Return the end of gunicorn's output, for error messages."""
        with open(self.log_path, errors="replace") as log:
            return log.read()[-3000:]

    def worker_pids(self) -> list:
        """Return the pids of the master's worker processes."""
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and _status_field(entry, "PPid") == str(self.process.pid):
                pids.append(int(entry))
        return sorted(pids)

    def pids(self) -> list:
        """Return the pids of the master and its workers."""
        return [self.process.pid, *self.worker_pids()]

    def wait_until_idle(self, timeout=30.0):
        """Wait until no worker has used CPU for a moment (requests wrk gave up on are finished)."""
        deadline = time.monotonic() + timeout
        before = None
        while time.monotonic() < deadline:
            now = [_cpu_ticks(pid) for pid in self.worker_pids()]
            if now == before:
                return
            before = now
            time.sleep(0.1)

    def worker_rss_mib(self) -> list:
        """Return each worker's resident memory (VmRSS) in MiB."""
        return list(self.rss_by_worker().values())

    def rss_by_worker(self) -> dict:
        """Return {pid: resident memory (VmRSS) in MiB} for each worker."""
        sizes = {pid: _status_field(pid, "VmRSS") for pid in self.worker_pids()}
        return {pid: int(size.split()[0]) / 1024 for pid, size in sizes.items() if size}  # "12345 kB"

    def stop(self):
        """Stop the master and its workers; kill the master if it has not gone within 30 s."""
        # SIGINT is gunicorn's quick shutdown: nothing here is worth a graceful wait.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def cpu_seconds(pids) -> float:
    """Return the CPU time (user + system) the processes have used so far, in seconds."""
    ticks = (_cpu_ticks(pid) for pid in pids)
    return sum(tick for tick in ticks if tick is not None) / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid):
    """Return the user + system CPU clock ticks a process has used, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))


def _status_field(pid, name):
    """Return one field of /proc/<pid>/status, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


@contextlib.contextmanager
def gunicorn(app_spec, workers, env, log_path):
    """Serve app_spec with gunicorn until the block ends; yield the Gunicorn."""
    server = Gunicorn(app_spec, workers, env, log_path)
    try:
        server.wait_until_serving()
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def mysql_databases(admin_url=None, server_args=()):
    """Yield (function making new empty databases, the server's pids) for admin_url's server or a throwaway one.

    server_args: mariadbd options for the throwaway server.
    """
    with contextlib.ExitStack() as stack:
        pids = []  # an existing server's CPU time cannot be read from here
        if not admin_url:
            server = stack.enter_context(mariadb.ThrowawayMariaDB(server_args))
            admin_url, pids = server.admin_url, [server.process.pid]

        def create():
            """Create a database (dropped when the block ends) and return its URL."""
            url = mariadb.create_database(admin_url)
            stack.callback(mariadb.drop_database, url)
            return url

        yield create, pids
