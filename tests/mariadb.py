"""A real MariaDB for the test suite: an existing server, or a throwaway one."""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import unquote, urlsplit

import pymysql

DB_NAME = re.compile(r"^wsgiauth_test_[0-9a-f]{16}$")
INSTALL_HINT = "install it with: apt-get install -y mariadb-server"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class MariaDBUnavailable(RuntimeError):
    """No MariaDB server could be provided for the tests."""


def admin_url_from_env() -> str | None:
    """Return the admin URL of an existing server from WSGIAUTH_TEST_MYSQL, if set."""
    return os.environ.get("WSGIAUTH_TEST_MYSQL") or None


def _find(name: str, fallback: str) -> str:
    """Locate a MariaDB executable or explain how to get it."""
    path = shutil.which(name) or (fallback if os.access(fallback, os.X_OK) else None)
    if path is None:
        raise MariaDBUnavailable(f"{name} not found on PATH or at {fallback}; {INSTALL_HINT}")
    return path


def free_port() -> int:
    """Ask the kernel for a loopback port that nobody is listening on right now."""
    # The suite's one copy (tests/helpers.py hands it on): this module must
    # stay self-contained, because the benchmark loads it by its path.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Make the kernel SIGTERM this child if the test process dies, even by SIGKILL."""
    # The kernel watches the *thread* that forked us, so start servers from the main thread.
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _tail(path: str, lines: int = 25) -> str:
    """Return the last lines of a log file, for error messages."""
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log written)"


class ThrowawayMariaDB:
    """A private mariadbd on a free loopback port, in a temp dir deleted on exit."""

    def __init__(self, extra_args=()) -> None:
        """Prepare an unstarted server; start() or `with` launches it (mariadbd options in extra_args win)."""
        self.extra_args = list(extra_args)  # e.g. a bigger buffer pool for the benchmark's large tables
        self.tmpdir: str | None = None
        self.process: subprocess.Popen | None = None
        self.command: list = []  # mariadbd's command line, kept for restart()
        self.log: str | None = None
        self.port: int | None = None
        self.startup_seconds: float | None = None

    @property
    def admin_url(self) -> str:
        """Return a URL for root, which has no password and may create databases."""
        return f"mysql://root@127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Initialise a data directory, start the server and wait until it answers."""
        if self.process is not None:
            return  # already running; a second server would orphan the first
        mariadbd = _find("mariadbd", "/usr/sbin/mariadbd")
        install_db = _find("mariadb-install-db", "/usr/bin/mariadb-install-db")
        began = time.monotonic()
        # Registered before anything exists, so even a half-started server is cleaned up.
        atexit.register(self.stop)
        try:
            self.tmpdir = tempfile.mkdtemp(prefix="wsgiauth-mariadb-")
            self._launch(mariadbd, install_db)
        except BaseException:  # __exit__ never runs when __enter__ fails, so clean up here
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def _launch(self, mariadbd: str, install_db: str) -> None:
        """Create the system tables, then run mariadbd until it accepts connections."""
        datadir, log = os.path.join(self.tmpdir, "data"), os.path.join(self.tmpdir, "error.log")
        # mariadbd refuses to run as root unless told to; as anyone else it runs as them.
        user = ["--user=root"] if os.geteuid() == 0 else []
        # Both need this, or mariadbd resizes the default 96 MB redo log at startup.
        small_log = "--innodb-log-file-size=16M"
        init = subprocess.run(
            [install_db, "--no-defaults", f"--datadir={datadir}", "--skip-test-db",
             "--auth-root-authentication-method=normal", small_log, *user],  # root: no password
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if init.returncode != 0:
            raise MariaDBUnavailable("mariadb-install-db failed:\n" + init.stdout[-3000:])
        self.port = free_port()
        # --no-defaults ignores /etc/mysql, so nothing on the host can change this server.
        # Durability is worthless here: skip fsyncs and the doublewrite buffer, which
        # keeps the per-test CREATE/DROP DATABASE cheap.
        command = [
            mariadbd, "--no-defaults", f"--datadir={datadir}", *user,
            "--bind-address=127.0.0.1", f"--port={self.port}",
            f"--socket={self.tmpdir}/mysqld.sock", f"--pid-file={self.tmpdir}/mysqld.pid",
            f"--tmpdir={self.tmpdir}", f"--log-error={log}", "--skip-log-bin",
            "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
            "--innodb-flush-log-at-trx-commit=2", "--innodb-flush-method=nosync",
            "--innodb-doublewrite=0", small_log,
            # Debian's own config (skipped by --no-defaults) makes utf8mb4 the default.
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            *self.extra_args,
        ]
        self.command, self.log = command, log
        self._run()

    def _run(self) -> None:
        """Run mariadbd (self.command) until it accepts connections."""
        with open(self.log, "ab") as err:  # startup errors reach stderr before the log opens
            self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                            stdout=err, stderr=err, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 60
        while self.process.poll() is None:
            try:
                # read_timeout: something else on the port may accept and never greet.
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1,
                                read_timeout=1, ssl_disabled=True).close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    raise MariaDBUnavailable(f"mariadbd not ready after 60 s:\n{_tail(self.log)}") from None
                time.sleep(0.05)
        # Rarely, another process grabbed the port between free_port() and mariadbd.
        raise MariaDBUnavailable(f"mariadbd exited during startup:\n{_tail(self.log)}")

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would; its data directory stays for restart()."""
        self.process.kill()
        self.process.wait()

    def restart(self) -> float:
        """Start the killed server again on the same data directory and port; return the seconds it took."""
        began = time.monotonic()
        self._run()  # InnoDB's crash recovery replays what the killed server had committed
        return time.monotonic() - began

    def stop(self) -> None:
        """Shut the server down (SIGTERM, then SIGKILL after 30 s) and delete its files."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        atexit.unregister(self.stop)

    def __enter__(self) -> ThrowawayMariaDB:
        """Start the server and return self."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server, whatever happened inside the block."""
        self.stop()


def _connect(url: str) -> pymysql.connections.Connection:
    """Open an autocommit connection with the credentials in a mysql:// URL."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    # PyMySQL tries TLS by default and loads the system CA bundle on every connect
    # (~40 ms); over loopback TLS protects nothing, so skip it there.
    return pymysql.connect(
        host=host, port=parts.port or 3306,
        user=unquote(parts.username or ""), password=unquote(parts.password or ""),
        charset="utf8mb4", autocommit=True, ssl_disabled=host in LOOPBACK)


def global_status(url: str, name: str) -> int:
    """Return one of the server's counters (SHOW GLOBAL STATUS), e.g. Com_select: statements since it started."""
    with _connect(url) as conn, conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
        return int(cur.fetchone()[1])


def _checked(name: str) -> str:
    """Refuse any database name that this module could not have generated."""
    # Identifiers cannot be bound as query parameters, so this is the one place SQL is
    # built from a string: only a name matching this pattern (which we generated
    # ourselves, hex digits only) is ever put between the backticks.
    if not DB_NAME.fullmatch(name):
        raise ValueError(f"refusing to touch database {name!r}: not a test database name")
    return name


def create_database(admin_url: str) -> str:
    """Create an empty utf8mb4 test database and return its URL."""
    name = _checked(f"wsgiauth_test_{secrets.token_hex(8)}")
    with _connect(admin_url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    return urlsplit(admin_url)._replace(path="/" + name).geturl()


def drop_database(url: str) -> None:
    """Drop a test database made by create_database; a missing one is fine."""
    name = _checked(unquote(urlsplit(url).path.lstrip("/")))
    with _connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def empty_database(url: str) -> list:
    """Empty every table of a test database but schema_migrations (AUTO_INCREMENT back at 1); return its versions."""
    name = _checked(unquote(urlsplit(url).path.lstrip("/")))
    with _connect(url) as conn, conn.cursor() as cur:
        # Fail rather than wait forever if a connection left open holds a lock.
        cur.execute("SET SESSION lock_wait_timeout = 10, SESSION innodb_lock_wait_timeout = 10")
        cur.execute(f"USE `{name}`")
        cur.execute("SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'", (name,))
        tables = {table: counter for table, counter in cur.fetchall() if table != "schema_migrations"}
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        versions = [version for (version,) in cur.fetchall()]
        if not all(re.fullmatch(r"[a-z0-9_]+", table) for table in tables):  # they go between backticks
            raise ValueError(f"unexpected table names in {name}: {sorted(tables)}")
        # One round trip tells which tables were written; only those are
        # emptied (an ALTER TABLE costs milliseconds, a test writes few tables).
        cur.execute(" UNION ALL ".join(f"SELECT '{table}', EXISTS(SELECT 1 FROM `{table}`)"
                                       for table in tables))
        written = [table for table, rows in cur.fetchall() if rows or (tables[table] or 1) > 1]
        cur.execute("SET SESSION foreign_key_checks = 0")
        for table in written:
            cur.execute(f"DELETE FROM `{table}`")
            if tables[table] is not None:
                cur.execute(f"ALTER TABLE `{table}` AUTO_INCREMENT = 1")
        cur.execute("SET SESSION foreign_key_checks = 1")
    return versions


@contextlib.contextmanager
def account_for_rows(admin_url: str, url: str):
    """Yield url with a new account that may only SELECT, INSERT, UPDATE and DELETE in its database; drop it after."""
    name = _checked(unquote(urlsplit(url).path.lstrip("/")))
    user, password = f"wsgiauth_rows_{secrets.token_hex(4)}", secrets.token_hex(16)
    with _connect(admin_url) as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        try:
            cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{name}`.* TO %s@'%%'", (user,))
            parts = urlsplit(url)
            yield parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port or 3306}").geturl()
        finally:
            cur.execute("DROP USER %s@'%%'", (user,))


def may_create_tables(url: str) -> bool:
    """Say whether the account in url may create a table in its database (it is dropped again)."""
    name = _checked(unquote(urlsplit(url).path.lstrip("/")))
    with _connect(url) as conn, conn.cursor() as cur:
        try:
            cur.execute(f"CREATE TABLE `{name}`.probe_ddl (n INT)")
        except pymysql.err.OperationalError:
            return False
        cur.execute(f"DROP TABLE `{name}`.probe_ddl")
        return True
