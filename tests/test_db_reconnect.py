"""MariaDB connections that the server drops: a reconnect, never a 500 and never a half-written change."""

import os
import threading
import time

import pytest
from helpers import csrf_token_in, free_port
from werkzeug.test import Client

from wsgiauth.db import Database

from conftest import TEST_QUERIES, AuthActions


@pytest.fixture
def db(mariadb_databases):
    """A Database on one of the session's migrated MariaDB databases (SQLite has no server to drop it)."""
    url = mariadb_databases.take()
    db = Database(url, query_files=[TEST_QUERIES])
    yield db
    db.close()
    mariadb_databases.give_back(url)


@pytest.fixture
def kill(mariadb_admin_url):
    """Return kill(connection id): the server ends that connection, as a restart or wait_timeout would."""
    admin = Database(mariadb_admin_url, query_files=[TEST_QUERIES])
    yield lambda connection_id: admin.one("kill_connection_for_tests", id=connection_id)
    admin.close()


def test_a_pooled_connection_the_server_dropped_costs_a_reconnect(db, kill):
    db.PING_AFTER_IDLE = 0  # ping every pooled connection before use, as after 10 s idle
    first = db.one("connection_id_for_tests")["id"]
    kill(first)
    # The ping finds it dead: a new connection answers the query.
    assert db.one("connection_id_for_tests")["id"] != first


def test_a_connection_that_dies_in_a_transaction_is_discarded_and_the_transaction_runs_again(db, kill):
    connections = []

    def work(tx):
        tx.insert("insert_user", firstname="A", lastname="B", email="a@example.com", pwdhash="x", created_at=0,
                  name_key="a b")
        connections.append(tx.one("connection_id_for_tests")["id"])
        if len(connections) == 1:
            kill(connections[0])  # the server ends it before COMMIT: the insert dies with it
        return tx.one("connection_id_for_tests")["id"]

    assert db.transaction(work) == connections[-1]
    # Run twice, on two connections, and written once.
    assert len(connections) == 2 and connections[0] != connections[1]
    assert len(db.all("user_uid_by_email", email="a@example.com")) == 1


def test_a_connection_that_keeps_dying_gives_up_after_the_last_attempt_and_writes_nothing(db, kill):
    runs = []

    def work(tx):
        runs.append(1)
        tx.insert("insert_user", firstname="A", lastname="B", email="a@example.com", pwdhash="x", created_at=0,
                  name_key="a b")
        kill(tx.one("connection_id_for_tests")["id"])
        tx.one("connection_id_for_tests")  # the connection is gone: this fails, and so does the rollback

    with pytest.raises(db.driver_errors):
        db.transaction(work)
    assert len(runs) == db.ATTEMPTS
    assert db.one("user_uid_by_email", email="a@example.com") is None
    assert db.one("connection_id_for_tests")["id"]  # the pool opened a new one


def test_a_connection_dropped_under_a_request_costs_a_new_connection_not_an_error(mariadb_databases,
                                                                                 mariadb_admin_url, make_app, kill):
    url = mariadb_databases.take()
    try:
        app = make_app(DATABASE=url)
        app.db.PING_AFTER_IDLE = 10**9  # as within 10 s of its last use: the pooled connection is not pinged
        client = Client(app)
        assert client.get("/signin").status_code == 200
        # The app's pooled connection ends, as in a server restart.
        admin = Database(mariadb_admin_url, query_files=[TEST_QUERIES])
        for row in admin.all("connections_to_database_for_tests", db=url.rsplit("/", 1)[1]):
            kill(row["id"])
        admin.close()
        # The read fails on the dead connection and runs again on a new one.
        assert client.get("/signin").status_code == 200
    finally:
        app.db.close()
        mariadb_databases.give_back(url)


def test_no_database_host_answering_is_a_503_page_with_one_log_line_and_the_app_recovers(mariadb_databases,
                                                                                         make_app, caplog):
    url = mariadb_databases.take()
    try:
        app = make_app(DATABASE=url)
        browser = AuthActions(Client(app))
        assert browser.signup().headers["Location"] == "/profile"
        page = browser.client.get("/account")  # a form loaded before the outage
        # Every host of the URL stops answering (as if the server were stopped).
        app.db.close()
        live_port, app.db.hosts[0].port = app.db.hosts[0].port, free_port()
        with caplog.at_level("WARNING"):
            answers = [browser.client.get("/profile"),
                       browser.client.post("/account/name", data={
                           "firstname": "Changed", "lastname": "Name",
                           "csrf_token": csrf_token_in(page.get_data(as_text=True))})]
        for response in answers:
            assert response.status_code == 503 and response.headers["Retry-After"] == "30"
            text = response.get_data(as_text=True)
            assert "We can&#39;t reach our database right now. Please try again in a minute." in text
            assert '<nav class="site-nav"' in text  # in the site layout
        lines = [r.getMessage() for r in caplog.records if r.name == "wsgiauth"]
        assert len(lines) == 2 and all(line.startswith("503 for") for line in lines)
        assert not any(r.exc_info for r in caplog.records)  # no traceback
        # The server is back: the app answers again without a restart, and the POST had changed nothing.
        app.db.hosts[0].port, app.db.hosts[0].down_until = live_port, 0
        profile = browser.client.get("/profile")
        assert profile.status_code == 200 and "Changed" not in profile.get_data(as_text=True)
    finally:
        app.db.close()
        mariadb_databases.give_back(url)


def test_a_dead_first_host_fails_over_to_the_next_and_is_then_tried_last(mariadb_databases, make_app, caplog):
    url = mariadb_databases.take()
    try:
        scheme, rest = url.split("://", 1)
        credentials, hostlist = rest.split("@", 1)
        live, database = hostlist.split("/", 1)
        app = make_app(DATABASE=f"{scheme}://{credentials}@127.0.0.1:{free_port()},{live}/{database}")
        client = Client(app)
        with caplog.at_level("WARNING"):
            for _ in range(5):
                assert client.get("/signin").status_code == 200
        # Marked down once, at the first request; the next ones went straight to the live host.
        assert len([r for r in caplog.records if "marked down" in r.getMessage()]) == 1
    finally:
        app.db.close()
        mariadb_databases.give_back(url)


def test_a_deadlock_victim_runs_again_and_both_transactions_commit_once(db):
    """Two transactions lock two rows in opposite orders: MariaDB aborts one (1213), which runs again."""
    uids = [db.transaction(lambda tx, n=n: tx.insert(
        "insert_user", firstname="A", lastname="B", email=f"u{n}@example.com", pwdhash="x", created_at=0,
        name_key="a b"))
        for n in (1, 2)]
    first_locked, second_locked = threading.Event(), threading.Event()
    runs = []

    def rename(tx, name, order, locked, wait_for):
        """Rename both users, taking their row locks in the given order, meeting the other transaction in between."""
        runs.append(name)
        tx.run("update_name", uid=order[0], firstname=name, lastname=name, name_key=name)
        if len(runs) <= 2:  # the first run of each: make them cross
            locked.set()
            wait_for.wait(5)
            time.sleep(0.2)  # the other one is now waiting for our first row
        tx.run("update_name", uid=order[1], firstname=name, lastname=name, name_key=name)

    other = threading.Thread(target=lambda: db.transaction(
        lambda tx: rename(tx, "Second", uids[::-1], second_locked, first_locked)))
    other.start()
    db.transaction(lambda tx: rename(tx, "First", uids, first_locked, second_locked))
    other.join()
    # One of the two was the victim: three runs in all, and each committed once.
    assert len(runs) == 3 and sorted(runs[:2]) == ["First", "Second"]
    names = {db.one("account_by_uid", uid=uid)["firstname"] for uid in uids}
    assert names == {runs[-1]}  # the one that ran again renamed both rows last


def test_a_forked_worker_opens_its_own_connections_instead_of_sharing_its_parents(db):
    """As under gunicorn --preload: the app (and its pool) is built before the workers are forked."""
    parent_connection = db.one("connection_id_for_tests")["id"]  # now idle in the pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: report which connection answers it, then leave without cleanup
        try:
            os.write(write, str(db.one("connection_id_for_tests")["id"]).encode())
        finally:
            os._exit(0)
    os.close(write)
    child_connection = int(os.read(read, 64) or 0)
    os.close(read)
    os.waitpid(pid, 0)
    assert child_connection and child_connection != parent_connection
    # The parent's pooled connection was neither used nor closed by the child.
    assert db.one("connection_id_for_tests")["id"] == parent_connection
