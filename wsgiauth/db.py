"""Database access: a small connection pool and transactions that run named queries."""

import contextlib
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql

from .queries import load_queries, split_script


class IntegrityError(Exception):
    """A constraint (e.g. UNIQUE email) refused a write; callers turn it into a form error."""


# Driver errors that are the database server's side, not the query's: worth a
# 503 and a retry by the user, never a 500. MySQL/MariaDB error numbers: too
# many connections, node not ready (Galera), server shutting down, lock wait
# timeout, deadlock or certification failure, cannot connect, server gone
# away, connection lost, lost sync. SQLite: a writer held the lock past the
# busy timeout, the disk failed, the file cannot be opened.
MYSQL_FAULTS = frozenset({1040, 1047, 1053, 1205, 1213, 2002, 2003, 2006, 2013, 2055})
SQLITE_FAULTS = ("database is locked", "database table is locked", "disk I/O error", "unable to open database file")


def is_fault(error) -> bool:
    """Say whether a driver error means the database failed (503), not that the query is wrong (a bug, 500)."""
    if isinstance(error, pymysql.err.OperationalError):
        return bool(error.args) and error.args[0] in MYSQL_FAULTS
    if isinstance(error, sqlite3.OperationalError):
        return str(error).startswith(SQLITE_FAULTS)
    return False


class DatabaseUnavailable(Exception):
    """The database server cannot be reached, or refuses the login: one line naming it, never the password."""


def _dict_row(cursor, row):
    """Return SQLite rows as plain dicts, the same shape PyMySQL's DictCursor gives."""
    return {column[0]: value for column, value in zip(cursor.description, row)}


class Queries:
    """Runs named queries on one borrowed connection: inside a transaction (Database.transaction) or as lone reads."""

    def __init__(self, connection, queries):
        self._connection = connection
        self._queries = queries

    def _execute(self, query, params):
        """Run the named query with bound parameters and return the cursor."""
        cursor = self._connection.cursor()
        # Values travel separately from the SQL text: the driver binds them,
        # so nothing a user types is ever parsed as SQL.
        cursor.execute(self._queries[query], params)
        return cursor

    def one(self, query, /, **params):
        """Return the first row as a dict, or None."""
        cursor = self._execute(query, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    def all(self, query, /, **params):
        """Return every row as a list of dicts."""
        cursor = self._execute(query, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def run(self, query, /, **params):
        """Run a write and return how many rows it touched."""
        cursor = self._execute(query, params)
        cursor.close()
        return cursor.rowcount

    def insert(self, query, /, **params):
        """Run an INSERT and return the new row's auto-increment id."""
        cursor = self._execute(query, params)
        cursor.close()
        return cursor.lastrowid

    def script(self, text):
        """Run every statement of a migration file, in order."""
        for statement in split_script(text):
            cursor = self._connection.cursor()
            cursor.execute(statement)
            cursor.close()


class Database:
    """Connections for one database URL, pooled per process and shared by threads."""

    # A pooled connection idle for longer than this is pinged before reuse,
    # so a server restart or wait_timeout costs a reconnect, not a 500.
    PING_AFTER_IDLE = 10.0

    def __init__(self, url: str, pool_size: int = 5, query_files=()):
        parts = urlsplit(url)
        if parts.scheme == "sqlite":
            self.dialect = "sqlite"
            self.where = f"the SQLite database {unquote(url[len('sqlite:///'):])}"
            self._connect = self._sqlite_connector(url)
            self.driver_errors = (sqlite3.Error,)
            self._integrity_errors = (sqlite3.IntegrityError,)
        elif parts.scheme in ("mysql", "mariadb"):
            self.dialect = "mysql"
            # Host, port, database and user: what an operator needs to find the
            # problem. The password never leaves the URL it came in.
            self.where = (f"the MySQL/MariaDB server at {parts.hostname or 'localhost'}:{parts.port or 3306} "
                          f"(database {parts.path.lstrip('/') or '-'}, user {unquote(parts.username or '')})")
            self._connect = self._mysql_connector(parts)
            self.driver_errors = (pymysql.err.Error,)
            self._integrity_errors = (pymysql.err.IntegrityError,)
        else:
            raise ValueError(f"WSGIAUTH_DATABASE must start with sqlite:/// or mysql://, not {parts.scheme!r}")
        self.queries = load_queries(self.dialect, extra_files=query_files)
        self._on_connect = list(split_script(self.queries.pop("on_connect", "")))
        self._pool_size = pool_size
        self._idle = []  # (connection, time it was returned)
        self._lock = threading.Lock()

    @staticmethod
    def _sqlite_connector(url):
        """Return a function opening the SQLite file named by url."""
        # sqlite:///instance/app.db is relative; sqlite:////var/app.db is absolute.
        path = Path(unquote(url[len("sqlite:///"):]))
        if not path.name:
            raise ValueError("sqlite:/// URLs need a file name, e.g. sqlite:///instance/wsgiauth.db")
        path.parent.mkdir(parents=True, exist_ok=True)

        def connect():
            # check_same_thread=False: the pool lends a connection to one
            # thread at a time, but not always the thread that opened it.
            connection = sqlite3.connect(path, timeout=10, check_same_thread=False)
            connection.row_factory = _dict_row
            return connection

        return connect

    @staticmethod
    def _mysql_connector(parts):
        """Return a function opening a PyMySQL connection for mysql://user:pw@host:port/db."""
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        kwargs = dict(
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/") or None,
            charset="utf8mb4",  # real UTF-8 (MySQL's "utf8" stops at 3 bytes)
            # Each statement commits by itself unless transaction() began a
            # transaction: a lone read (Database.one) then costs one round trip.
            autocommit=True,
            connect_timeout=5,
            cursorclass=pymysql.cursors.DictCursor,
        )
        if "unix_socket" in options:
            kwargs["unix_socket"] = options["unix_socket"]
        return lambda: pymysql.connect(**kwargs)

    def _open(self):
        """Open a new connection and apply the per-connection settings; DatabaseUnavailable if that fails."""
        try:
            connection = self._connect()
            for statement in self._on_connect:
                cursor = connection.cursor()
                cursor.execute(statement)
                cursor.close()
            connection.commit()
        except self.driver_errors as error:
            # Refused connection (2003), wrong password (1045), unknown host
            # (2005), unknown database (1049), an unwritable SQLite folder:
            # the driver's own words say which. Its messages never hold the
            # password (PyMySQL says "using password: YES").
            raise DatabaseUnavailable(f"Cannot use {self.where}: {error}") from None
        return connection

    def _borrow(self):
        """Take an idle connection (checking stale ones) or open a new one."""
        while True:
            with self._lock:
                if not self._idle:
                    break
                connection, returned_at = self._idle.pop()
            if self.dialect == "sqlite" or time.monotonic() - returned_at < self.PING_AFTER_IDLE:
                return connection
            try:
                connection.ping(reconnect=False)
                return connection
            except self.driver_errors:
                self._discard(connection)
        return self._open()

    def _give_back(self, connection):
        """Return a healthy connection to the pool, or close it if the pool is full."""
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append((connection, time.monotonic()))
                return
        self._discard(connection)

    @staticmethod
    def _discard(connection):
        """Close a connection we no longer trust, ignoring errors from a dead one."""
        with contextlib.suppress(Exception):
            connection.close()

    @contextlib.contextmanager
    def transaction(self):
        """Borrow a connection for one transaction; commit on success, roll back on error."""
        with self._lend(transaction=True) as tx:
            yield tx

    def one(self, query, /, **params):
        """Run one read on its own (no transaction around it); return the first row as a dict, or None."""
        # A lone SELECT is atomic by itself. In autocommit mode it needs no
        # BEGIN and no COMMIT, which saves MySQL a round trip on the session
        # lookup that nearly every request makes.
        with self._lend(transaction=False) as tx:
            return tx.one(query, **params)

    def all(self, query, /, **params):
        """Run one read on its own (no transaction around it); return every row as a list of dicts."""
        with self._lend(transaction=False) as tx:
            return tx.all(query, **params)

    @contextlib.contextmanager
    def _lend(self, transaction):
        """Lend a connection for a block (in a transaction or not); roll back and keep it healthy on error."""
        connection = self._borrow()
        try:
            if transaction and self.dialect == "mysql":
                connection.begin()  # MySQL connections are in autocommit mode
            yield Queries(connection, self.queries)
            if transaction:
                connection.commit()
        except BaseException as error:
            try:
                connection.rollback()
            except self.driver_errors:
                # The connection is broken: close it instead of pooling it.
                self._discard(connection)
                connection = None
            if isinstance(error, self._integrity_errors):
                raise IntegrityError(str(error)) from error
            raise
        finally:
            if connection is not None:
                self._give_back(connection)

    def close(self):
        """Close every idle connection (for tests and clean shutdown)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            self._discard(connection)
