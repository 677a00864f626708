"""Database access: a small connection pool over one or several hosts, and transactions that are retried."""

import contextlib
import json
import logging
import os
import random
import sqlite3
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote

from .queries import load_queries, split_script

# Rows per statement of Database.delete_in_batches (cleanup, signing out everyone).
DELETE_BATCH = 1000

log = logging.getLogger("wsgiauth.db")


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
# Faults after which the server has certainly rolled the whole transaction
# back (or will, as it closes the connection), so running it again from the
# start cannot apply anything twice: deadlock or Galera certification
# failure (1213, raised at COMMIT too), lock wait timeout (1205; we roll the
# rest back ourselves), node not ready (1047), server shutting down (1053).
MYSQL_RETRYABLE = frozenset({1047, 1053, 1205, 1213})
# The connection itself is gone: retryable only before COMMIT was sent. An
# uncommitted transaction dies with its connection; after COMMIT, nobody can
# say whether it was applied (see Database.transaction).
MYSQL_CONNECTION_LOST = frozenset({2006, 2013, 2055})
# Faults that say this host is not usable right now: use another for a while.
MYSQL_HOST_DOWN = frozenset({1040, 1047, 1053, 2002, 2003, 2006, 2013, 2055})


# The column name of a row sent as one JSON object (unpacked).
JSON_ROW = "json_row"


def unpacked(row):
    """Return a row whose one column is json_row as the dict that JSON holds; any other row as it is."""
    # A hot query may send its row as one JSON object (JSON_OBJECT, the same
    # in SQLite and MariaDB): see session_user in sql/queries.sql for why.
    if row is not None and JSON_ROW in row:
        return json.loads(row[JSON_ROW])
    return row


def mysql_driver():
    """Return PyMySQL, imported when a MySQL URL is first used."""
    # Not at the top: a worker on SQLite never loads PyMySQL (~3 MiB of
    # resident memory, and ~7 MiB more for the cryptography package PyMySQL
    # imports whenever it is installed) (issue 18: workers under 40 MiB).
    import pymysql

    return pymysql


def is_mysql_error(error, name: str) -> bool:
    """Say whether error is PyMySQL's exception `name` (never when PyMySQL was not loaded: an SQLite app)."""
    driver = sys.modules.get("pymysql")
    return driver is not None and isinstance(error, getattr(driver.err, name))


def error_number(error) -> int:
    """Return a MySQL driver error's number, or 0 for anything else."""
    if is_mysql_error(error, "MySQLError") and error.args and isinstance(error.args[0], int):
        return error.args[0]
    return 0


def is_fault(error) -> bool:
    """Say whether a driver error means the database failed (503), not that the query is wrong (a bug, 500)."""
    if is_mysql_error(error, "OperationalError"):
        return error_number(error) in MYSQL_FAULTS
    if isinstance(error, sqlite3.OperationalError):
        return str(error).startswith(SQLITE_FAULTS)
    return False


def is_retryable(error, committing: bool) -> bool:
    """Say whether a transaction that failed with error can safely run again from the start."""
    if isinstance(error, sqlite3.OperationalError):
        # SQLite answers "locked" at once, without waiting out the busy
        # timeout, when a reader must become a writer under WAL: try again.
        return str(error).startswith(("database is locked", "database table is locked"))
    number = error_number(error)
    return number in MYSQL_RETRYABLE or (number in MYSQL_CONNECTION_LOST and not committing)


class DatabaseUnavailable(Exception):
    """The database server cannot be reached, or refuses the login: one line naming it, never the password."""


class NodeNotReady(Exception):
    """A Galera node answered but is not Synced and ready: use another one."""


def _dict_row(cursor, row):
    """Return SQLite rows as plain dicts, the same shape PyMySQL's DictCursor gives."""
    return {column[0]: value for column, value in zip(cursor.description, row)}


class Queries:
    """Runs named queries on one borrowed connection: inside a transaction (Database.transaction) or as lone reads."""

    def __init__(self, connection, queries):
        self._connection = connection
        self._queries = queries
        # What must happen only once the transaction is committed (a log
        # line, for instance): a rolled-back or retried attempt never ran it.
        self.after_commit = []

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
            return unpacked(cursor.fetchone())
        finally:
            cursor.close()

    def all(self, query, /, **params):
        """Return every row as a list of dicts."""
        cursor = self._execute(query, params)
        try:
            return [unpacked(row) for row in cursor.fetchall()]
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


class Host:
    """One MySQL/MariaDB server of the URL, and until when it counts as down."""

    def __init__(self, name: str, port: int):
        self.name = name
        self.port = port
        self.down_until = 0.0

    def __str__(self):
        return f"{self.name}:{self.port}"


def parse_hosts(netloc: str) -> tuple:
    """Split "user:pw@h1:3306,h2,[::1]:3307" into (user, password, [Host, ...])."""
    credentials, _, hostlist = netloc.rpartition("@")
    user, _, password = credentials.partition(":")
    hosts = []
    for item in hostlist.split(","):
        item = item.strip()
        if item.startswith("["):  # an IPv6 address: [::1]:3306
            name, _, rest = item[1:].partition("]")
            port = rest.lstrip(":")
        else:
            name, _, port = item.partition(":")
        if not port.isdigit() and port:
            raise ValueError(f"WSGIAUTH_DATABASE: {item!r} is not host or host:port")
        hosts.append(Host(name or "localhost", int(port or 3306)))
    return unquote(user), unquote(password), hosts


class Database:
    """Connections for one database URL, pooled per process and shared by threads."""

    # A pooled connection idle for longer than this is pinged before reuse,
    # so a server restart or wait_timeout costs a reconnect, not a 503.
    PING_AFTER_IDLE = 10.0
    # A host that failed is tried last for this long, so requests do not
    # each wait for a dead server before moving on to a live one.
    DOWN_FOR = 5.0
    # Transactions that hit a retryable fault run again, up to this many
    # times in all, after a random pause (jitter: two requests that
    # collided do not collide again) of up to RETRY_PAUSE * 2**attempt.
    ATTEMPTS = 4
    RETRY_PAUSE = 0.02
    # Timeouts in seconds, unless the URL says otherwise (?connect_timeout=).
    # A hung server must not hold a worker for long; a query of ours takes
    # milliseconds. Migrations pass longer ones (ALTER TABLE on a big table).
    TIMEOUTS = {"connect_timeout": 3, "read_timeout": 10, "write_timeout": 10}

    def __init__(self, url: str, pool_size: int = 5, query_files=(), timeouts=None):
        scheme, _, rest = url.partition("://")
        if scheme == "sqlite":
            self.dialect = "sqlite"
            self.hosts = []
            self.where = f"the SQLite database {unquote(url[len('sqlite:///'):])}"
            self._connect_to = self._sqlite_connector(url)
            self.driver_errors = (sqlite3.Error,)
            self._integrity_errors = (sqlite3.IntegrityError,)
        elif scheme in ("mysql", "mariadb"):
            self.dialect = "mysql"
            pymysql = mysql_driver()
            self._connect_to = self._mysql_connector(pymysql, rest, timeouts or {})
            self.driver_errors = (pymysql.err.Error,)
            self._integrity_errors = (pymysql.err.IntegrityError,)
        else:
            raise ValueError(f"WSGIAUTH_DATABASE must start with sqlite:/// or mysql://, not {scheme!r}")
        self.queries = load_queries(self.dialect, extra_files=query_files)
        self._on_connect = list(split_script(self.queries.pop("on_connect", "")))
        self._pool_size = pool_size
        self._idle = []  # (connection, host, time it was returned)
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @staticmethod
    def _sqlite_connector(url):
        """Return a function opening the SQLite file named by url."""
        # sqlite:///instance/app.db is relative; sqlite:////var/app.db is absolute.
        path = Path(unquote(url[len("sqlite:///"):]))
        if not path.name:
            raise ValueError("sqlite:/// URLs need a file name, e.g. sqlite:///instance/wsgiauth.db")
        path.parent.mkdir(parents=True, exist_ok=True)

        def connect(host):
            # check_same_thread=False: the pool lends a connection to one
            # thread at a time, but not always the thread that opened it.
            connection = sqlite3.connect(path, timeout=10, check_same_thread=False)
            connection.row_factory = _dict_row
            return connection

        return connect

    def _mysql_connector(self, pymysql, rest, timeouts):
        """Read mysql://user:pw@host:port[,host:port...]/db?options; return a function connecting to one host."""
        netloc, _, path = rest.partition("/")
        path, _, query = path.partition("?")
        user, password, self.hosts = parse_hosts(netloc)
        options = {key: values[-1] for key, values in parse_qs(query).items()}
        database = unquote(path) or None
        # Host, port, database and user: what an operator needs to find the
        # problem. The password never leaves the URL it came in.
        self.where = (f"the MySQL/MariaDB server at {','.join(map(str, self.hosts))} "
                      f"(database {database or '-'}, user {user})")
        # Galera: wsrep_sync_wait=1 makes each read wait until this node has
        # applied every write the cluster committed before it (read your own
        # writes on any node). Off unless the URL asks: it costs latency, and
        # plain MariaDB/MySQL has no such variable.
        self.sync_wait = int(options["wsrep_sync_wait"]) if "wsrep_sync_wait" in options else None
        kwargs = dict(
            user=user,
            password=password,
            database=database,
            charset="utf8mb4",  # real UTF-8 (MySQL's "utf8" stops at 3 bytes)
            # Each statement commits by itself unless transaction() began a
            # transaction: a lone read (Database.one) then costs one round trip.
            autocommit=True,
            cursorclass=pymysql.cursors.DictCursor,
        )
        for name, default in self.TIMEOUTS.items():
            kwargs[name] = float(options.get(name, timeouts.get(name, default)))
        if "unix_socket" in options:
            kwargs["unix_socket"] = options["unix_socket"]
        return lambda host: pymysql.connect(host=host.name, port=host.port, **kwargs)

    def _hosts_to_try(self):
        """Return the hosts in the URL's order, those marked down last (soonest back first); SQLite has one."""
        if not self.hosts:
            return [None]
        now = time.monotonic()
        up = [host for host in self.hosts if host.down_until <= now]
        down = sorted((host for host in self.hosts if host.down_until > now), key=lambda host: host.down_until)
        return up + down

    def _mark_down(self, host, error):
        """Try host last for DOWN_FOR seconds and close its idle connections; log it once."""
        if host is None:
            return
        now = time.monotonic()
        # Worth a line only when there is another host to move to; with one,
        # the error itself reaches whoever called (a 503's log line, a command).
        if host.down_until <= now and len(self.hosts) > 1:
            log.warning("Database host %s marked down for %g s: %s", host, self.DOWN_FOR, error)
        host.down_until = now + self.DOWN_FOR
        with self._lock:
            dropped = [entry for entry in self._idle if entry[1] is host]
            self._idle = [entry for entry in self._idle if entry[1] is not host]
        for connection, _, _ in dropped:
            self._discard(connection)

    def _open(self):
        """Open a connection to the first healthy host; return (connection, host); DatabaseUnavailable if none."""
        errors = []
        for host in self._hosts_to_try():
            try:
                connection = self._connect_to(host)
            except self.driver_errors as error:
                # Refused connection (2003), wrong password (1045), unknown
                # host (2005), unknown database (1049), an unwritable SQLite
                # folder: the driver's own words say which. Its messages
                # never hold the password (PyMySQL says "using password: YES").
                errors.append(f"{host or self.where}: {error}")
                self._mark_down(host, error)
                continue
            try:
                self._prepare(connection)
            except (self.driver_errors + (NodeNotReady,)) as error:
                self._discard(connection)
                errors.append(f"{host or self.where}: {error}")
                self._mark_down(host, error)
                continue
            return connection, host
        raise DatabaseUnavailable(f"Cannot use {self.where}: {'; '.join(errors)}")

    def _prepare(self, connection):
        """Apply the per-connection settings; on Galera, refuse a node that is not synced (NodeNotReady)."""
        cursor = connection.cursor()
        for statement in self._on_connect:
            cursor.execute(statement)
        if self.dialect == "mysql":
            # A Galera node that is joining, donating or cut off from the
            # cluster's majority must not serve: it could answer with old
            # data or refuse every query (1047). A server without a Galera
            # provider loaded (plain MariaDB, even with galera-4 installed)
            # reports no local state at all, and wsrep_ready OFF: it serves.
            cursor.execute(self.queries["node_state"])
            state = {row["Variable_name"].lower(): row["Value"] for row in cursor.fetchall()}
            if "wsrep_local_state_comment" in state and (
                    state.get("wsrep_ready") != "ON" or state["wsrep_local_state_comment"] != "Synced"):
                raise NodeNotReady(f"Galera node not ready ({state})")
            if self.sync_wait is not None:
                cursor.execute(self.queries["set_wsrep_sync_wait"], {"level": self.sync_wait})
        cursor.close()
        connection.commit()

    def _borrow(self):
        """Take an idle connection (checking stale ones) or open a new one; return (connection, host)."""
        while True:
            with self._lock:
                if os.getpid() != self._pid:
                    # A forked worker (gunicorn --preload) must not share its
                    # parent's sockets: forget them without closing them.
                    self._idle, self._pid = [], os.getpid()
                if not self._idle:
                    break
                connection, host, returned_at = self._idle.pop()
            if self.dialect == "sqlite" or time.monotonic() - returned_at < self.PING_AFTER_IDLE:
                return connection, host
            try:
                connection.ping(reconnect=False)
                return connection, host
            except self.driver_errors:
                self._discard(connection)
        return self._open()

    def _give_back(self, connection, host):
        """Return a healthy connection to the pool; close it if the pool is full or a better host is back."""
        # After a failover, connections to a later host are not kept once the
        # first host is no longer marked down: the next one opened tries it
        # again, so every app server returns to writing on the same node.
        preferred = self._hosts_to_try()[0]
        with self._lock:
            if len(self._idle) < self._pool_size and host is preferred:
                self._idle.append((connection, host, time.monotonic()))
                return
        self._discard(connection)

    @staticmethod
    def _discard(connection):
        """Close a connection we no longer trust, ignoring errors from a dead one."""
        with contextlib.suppress(Exception):
            connection.close()

    def transaction(self, work, keep=(), attempts=None):
        """Run work(tx) in a transaction, committed if it returns, run again on a retryable fault; return its result.

        work may run more than once, so it does nothing outside the database
        but return a value (a log line goes in tx.after_commit). keep lists
        objects whose attributes work may change (the request's session):
        they are put back as they were before each new attempt. attempts=1
        for work that must never run twice (a migration: MySQL commits DDL).
        """
        saved = [(thing, dict(vars(thing))) for thing in keep]
        attempts = attempts or self.ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(work, transaction=True)
            except self.driver_errors as error:
                if attempt == attempts or not getattr(error, "retryable", False):
                    raise
                for thing, state in saved:
                    vars(thing).clear()
                    vars(thing).update(state)
                time.sleep(random.uniform(0, self.RETRY_PAUSE * 2 ** attempt))

    def delete_in_batches(self, query, batch=DELETE_BATCH, **params) -> int:
        """Run query, a DELETE of at most :batch rows, until a run deletes fewer; return how many rows went."""
        # Each batch is a short transaction of its own, so a big delete never
        # holds locks for long (on a Galera cluster, one huge write set would
        # stall every node while it is certified).
        deleted = 0
        while True:
            n = self.transaction(lambda tx: tx.run(query, batch=batch, **params))
            deleted += n
            if n < batch:
                return deleted

    def one(self, query, /, **params):
        """Run one read on its own (no transaction around it); return the first row as a dict, or None."""
        # A lone SELECT is atomic by itself. In autocommit mode it needs no
        # BEGIN and no COMMIT, which saves MySQL a round trip on the session
        # lookup that nearly every request makes.
        return self._read(lambda tx: tx.one(query, **params))

    def all(self, query, /, **params):
        """Run one read on its own (no transaction around it); return every row as a list of dicts."""
        return self._read(lambda tx: tx.all(query, **params))

    def _read(self, read):
        """Run a lone read, once more on a fresh connection if the first one failed with a retryable fault."""
        try:
            return self._attempt(read, transaction=False)
        except self.driver_errors as error:
            if not getattr(error, "retryable", False):
                raise
            return self._attempt(read, transaction=False)  # a read changes nothing: safe to repeat

    def _attempt(self, work, transaction):
        """Run work(tx) once on a borrowed connection; on failure roll back, mark the error .retryable, re-raise."""
        connection, host = self._borrow()
        committing = False
        try:
            if transaction and self.dialect == "mysql":
                connection.begin()  # MySQL connections are in autocommit mode
            tx = Queries(connection, self.queries)
            result = work(tx)
            if transaction:
                # A connection lost while COMMIT is on its way leaves the
                # outcome unknown: the server may have applied it. Running
                # the work again could apply it twice (two sign-ups, two
                # mails), so that one fault is not retried: the request gets
                # a 503, and the person's retry meets the UNIQUE indexes and
                # single-use tokens, which stop a second application.
                committing = True
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
            if isinstance(error, self.driver_errors):
                error.retryable = is_retryable(error, committing)
                if error_number(error) in MYSQL_HOST_DOWN:
                    if connection is not None:
                        self._discard(connection)
                        connection = None
                    self._mark_down(host, error)
            raise
        finally:
            if connection is not None:
                self._give_back(connection, host)
        for callback in tx.after_commit:
            callback()
        return result

    def close(self):
        """Close every idle connection (for tests and clean shutdown)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _, _ in idle:
            self._discard(connection)
