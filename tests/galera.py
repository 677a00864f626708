"""A real 3-node MariaDB Galera cluster on loopback for the fault tests: start it, kill -9 a node, bring it back."""
from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pymysql

from mariadb import _die_with_parent, _find, _tail

PROVIDER = "/usr/lib/galera/libgalera_smm.so"
INSTALL_HINT = "install them with: apt-get install -y mariadb-server galera-4 rsync"
# What the joiners' state transfer (wsrep_sst_rsync) runs; mariadbd finds the script on PATH.
SST_TOOLS = ("rsync", "wsrep_sst_rsync")
RECOVERED = re.compile(r"WSREP: Recovered position:?\s+([0-9a-f-]{36}:-?\d+)")
DATABASE, USER = "wsgiauth", "wsgiauth"


class GaleraUnavailable(RuntimeError):
    """No Galera cluster could be started here."""


def free_ports(count: int) -> list:
    """Return count distinct loopback ports that nobody is listening on right now."""
    # All held open until every one is picked, so the kernel never hands out one twice.
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def status(port: int, *names: str) -> dict:
    """Return the named global status variables of the node on port (root over TCP)."""
    # read_timeout: a node that is starting may accept and not answer yet.
    with pymysql.connect(host="127.0.0.1", port=port, user="root", connect_timeout=1, read_timeout=5,
                         ssl_disabled=True) as conn, conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN %s", (names,))
        return dict(cur.fetchall())


class Node:
    """One mariadbd of the cluster: its ports, its folder (owned by mysql) and its process."""

    def __init__(self, number: int, folder: str, ports: list) -> None:
        """Describe node number in folder, with its four ports: mysqld, group, IST, SST."""
        self.number = number
        self.folder = folder
        self.datadir = os.path.join(folder, "data")
        self.log = os.path.join(folder, "error.log")
        self.port, self.group_port, self.ist_port, self.sst_port = ports
        self.process: subprocess.Popen | None = None

    def __repr__(self) -> str:
        """Name the node and its port, for messages."""
        return f"node {self.number} (port {self.port})"


class ThrowawayGalera:
    """Three mariadbd on free loopback ports forming one Galera cluster, in a temp dir deleted on exit."""

    def __init__(self, size: int = 3, password: str = "galera-test-password") -> None:
        """Prepare an unstarted cluster of size nodes; start() or `with` launches it."""
        self.size = size
        self.password = password
        self.tmpdir: str | None = None
        self.nodes: list = []
        self.startup_seconds: float | None = None
        self.timings: dict = {}  # what each step of start() took, in seconds

    def url(self, *order: int, **options: str) -> str:
        """Return the app's mysql:// URL listing the nodes in this order (1-based), with query options."""
        hosts = ",".join(f"127.0.0.1:{self.nodes[n - 1].port}" for n in order or range(1, self.size + 1))
        query = "&".join(f"{key}={value}" for key, value in options.items())
        return f"mysql://{USER}:{self.password}@{hosts}/{DATABASE}" + (f"?{query}" if query else "")

    def node_url(self, n: int) -> str:
        """Return a plain single-host URL of node n, for reading what it holds."""
        return f"mysql://{USER}:{self.password}@127.0.0.1:{self.nodes[n - 1].port}/{DATABASE}"

    def start(self) -> None:
        """Bootstrap node 1, join the others (rsync state transfer), create the database and migrate it."""
        if self.nodes:
            return
        self.mariadbd = _find("mariadbd", "/usr/sbin/mariadbd")
        install_db = _find("mariadb-install-db", "/usr/bin/mariadb-install-db")
        missing = [tool for tool in SST_TOOLS if shutil.which(tool) is None]
        if not os.path.exists(PROVIDER) or missing:
            raise GaleraUnavailable(f"Galera needs {PROVIDER} and {', '.join(SST_TOOLS)} "
                                    f"(missing: {', '.join(missing) or 'the provider'}); {INSTALL_HINT}")
        if os.geteuid() != 0:
            # The joiner's rsync writes files as mariadbd's user: every node runs as mysql.
            raise GaleraUnavailable("the Galera tests start mariadbd as the mysql user, which needs root")
        try:
            self.mysql = pwd.getpwnam("mysql")
        except KeyError:
            raise GaleraUnavailable(f"there is no mysql user; {INSTALL_HINT}") from None
        began = time.monotonic()
        atexit.register(self.stop)  # before anything exists, so even a half-started cluster is cleaned up
        try:
            self._start(install_db)
        except BaseException:  # __exit__ never runs when __enter__ fails
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def _start(self, install_db: str) -> None:
        """Make the folders, initialise node 1's data, bootstrap it, join the rest and migrate."""
        self.tmpdir = tempfile.mkdtemp(prefix="wsgiauth-galera-")
        os.chmod(self.tmpdir, 0o755)  # mysql must reach its node's folder
        ports = free_ports(4 * self.size)
        for n in range(1, self.size + 1):
            folder = os.path.join(self.tmpdir, f"node{n}")
            os.mkdir(folder)
            os.mkdir(os.path.join(folder, "tmp"))
            self.nodes.append(Node(n, folder, ports[4 * (n - 1):4 * n]))
        for path in [self.tmpdir] + [os.path.join(root, name) for root, dirs, _ in os.walk(self.tmpdir)
                                     for name in dirs]:
            os.chown(path, self.mysql.pw_uid, self.mysql.pw_gid)
        step = time.monotonic()
        first = self.nodes[0]
        init = subprocess.run(
            [install_db, "--no-defaults", f"--datadir={first.datadir}", "--skip-test-db", "--user=mysql",
             "--auth-root-authentication-method=normal", "--innodb-log-file-size=16M"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if init.returncode != 0:
            raise GaleraUnavailable("mariadb-install-db failed:\n" + init.stdout[-3000:])
        self.timings["install-db"] = time.monotonic() - step
        # Joiners start with an empty data folder: the rsync state transfer
        # (SST) copies node 1's, system tables included.
        for node in self.nodes[1:]:
            os.mkdir(node.datadir)
            os.chown(node.datadir, self.mysql.pw_uid, self.mysql.pw_gid)
        step = time.monotonic()
        self._run(first, "--wsrep-new-cluster")
        self.wait_synced(first, size=1)
        self.timings["bootstrap"] = time.monotonic() - step
        for node in self.nodes[1:]:
            step = time.monotonic()
            self._run(node)
            self.wait_synced(node, size=node.number)
            self.timings[f"join node {node.number} (SST)"] = time.monotonic() - step
        step = time.monotonic()
        self._create_database()
        self.timings["database and migrations"] = time.monotonic() - step

    def command(self, node: Node, *extra: str) -> list:
        """Return the mariadbd command line of a node."""
        others = ",".join(f"127.0.0.1:{other.group_port}" for other in self.nodes)
        provider_options = ";".join([
            f"gmcast.listen_addr=tcp://127.0.0.1:{node.group_port}",
            f"ist.recv_addr=127.0.0.1:{node.ist_port}",
            # A small write-set cache (the default preallocates 128 MB); the
            # outage's writes fit many times over, so a killed node catches up by IST.
            "gcache.size=64M",
        ])
        # --no-defaults ignores /etc/mysql, so nothing on the host can change this cluster.
        # Durability against a crash of the machine is worthless here; a
        # process killed with SIGKILL loses nothing that reached the OS.
        return [
            self.mariadbd, "--no-defaults", f"--datadir={node.datadir}", "--user=mysql",
            "--bind-address=127.0.0.1", f"--port={node.port}",
            f"--socket={node.folder}/mysqld.sock", f"--pid-file={node.folder}/mysqld.pid",
            f"--tmpdir={node.folder}/tmp", f"--log-error={node.log}", "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2", "--innodb-flush-method=nosync", "--innodb-doublewrite=0",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            "--performance-schema=OFF", "--max-connections=200",
            # What Galera needs of every node.
            "--wsrep-on=ON", f"--wsrep-provider={PROVIDER}", "--wsrep-cluster-name=wsgiauth-test",
            f"--wsrep-cluster-address=gcomm://{others}", f"--wsrep-node-address=127.0.0.1:{node.group_port}",
            f"--wsrep-node-name=node{node.number}", "--wsrep-sst-method=rsync",
            f"--wsrep-sst-receive-address=127.0.0.1:{node.sst_port}",
            f"--wsrep-provider-options={provider_options}",
            "--binlog-format=ROW", "--innodb-autoinc-lock-mode=2", "--default-storage-engine=InnoDB",
            *extra,
        ]

    def _run(self, node: Node, *extra: str) -> None:
        """Start a node's mariadbd as the mysql user; it dies with the test process."""
        with open(node.log, "ab") as err:  # startup errors reach stderr before the log opens
            os.fchown(err.fileno(), self.mysql.pw_uid, self.mysql.pw_gid)  # mariadbd reopens it as mysql
            # Started as mysql (not switched by mariadbd's --user): changing
            # user clears the kernel's parent-death signal, which Popen sets
            # after the switch here.
            node.process = subprocess.Popen(
                self.command(node, *extra), stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                user=self.mysql.pw_uid, group=self.mysql.pw_gid, extra_groups=[], preexec_fn=_die_with_parent)

    def wait_synced(self, node: Node, size: int | None = None, timeout: float = 90.0) -> None:
        """Wait until node is Synced in a cluster of size nodes (all of them by default)."""
        size = size or self.size
        deadline = time.monotonic() + timeout
        seen = {}
        while node.process.poll() is None:
            try:
                seen = status(node.port, "wsrep_local_state_comment", "wsrep_cluster_size", "wsrep_ready")
                if seen.get("wsrep_local_state_comment") == "Synced" and seen.get("wsrep_ready") == "ON" \
                        and int(seen.get("wsrep_cluster_size", 0)) == size:
                    return
            except pymysql.err.Error:
                pass
            if time.monotonic() > deadline:
                raise GaleraUnavailable(f"{node} not Synced in a cluster of {size} after {timeout:.0f} s "
                                        f"(last seen {seen}):\n{_tail(node.log)}")
            time.sleep(0.1)
        raise GaleraUnavailable(f"{node} exited with {node.process.returncode}:\n{_tail(node.log)}")

    def _create_database(self) -> None:
        """Create the database and the app's user through node 1 (Galera replicates both), then migrate."""
        from wsgiauth.db import Database  # the harness is loaded by the tests, where wsgiauth is installed
        from wsgiauth.migrations import migrate

        with pymysql.connect(host="127.0.0.1", port=self.nodes[0].port, user="root", autocommit=True,
                             ssl_disabled=True) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY %s", (self.password,))
            cur.execute(f"GRANT ALL PRIVILEGES ON `{DATABASE}`.* TO '{USER}'@'127.0.0.1'")
        db = Database(self.node_url(1))
        try:
            migrate(db)
        finally:
            db.close()

    def app_connections(self, n: int) -> int:
        """Return how many connections the app's user has open on node n."""
        with pymysql.connect(host="127.0.0.1", port=self.nodes[n - 1].port, user="root",
                             ssl_disabled=True) as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s", (USER,))
            return cur.fetchone()[0]

    def kill(self, n: int) -> None:
        """Kill node n with SIGKILL, as a crash would: no shutdown, its files as they are."""
        node = self.nodes[n - 1]
        node.process.send_signal(signal.SIGKILL)
        node.process.wait()

    def restart(self, n: int, timeout: float = 90.0) -> float:
        """Start a killed node n again from its recovered position, so it catches up by IST; return the seconds."""
        node = self.nodes[n - 1]
        began = time.monotonic()
        # A killed node's grastate.dat says seqno -1: --wsrep-recover reads
        # the last committed position from InnoDB, prints it and exits.
        recover_log = os.path.join(node.folder, "recover.log")
        recovery = subprocess.run(
            [arg for arg in self.command(node, "--wsrep-recover") if not arg.startswith("--log-error=")]
            + [f"--log-error={recover_log}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            user=self.mysql.pw_uid, group=self.mysql.pw_gid, extra_groups=[], preexec_fn=_die_with_parent,
            timeout=timeout)
        found = RECOVERED.findall(_tail(recover_log, 200))
        if recovery.returncode != 0 or not found:
            raise GaleraUnavailable(f"{node}: --wsrep-recover found no position:\n{_tail(recover_log)}")
        self._run(node, f"--wsrep-start-position={found[-1]}")
        self.wait_synced(node, timeout=timeout)
        return time.monotonic() - began

    def stop(self) -> None:
        """Kill every node and delete the cluster's files."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
                node.process.wait()
        self.nodes = []
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        atexit.unregister(self.stop)

    def __enter__(self) -> ThrowawayGalera:
        """Start the cluster and return self."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Kill the cluster, whatever happened inside the block."""
        self.stop()
