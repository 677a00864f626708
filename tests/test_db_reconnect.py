"""MariaDB connections that the server drops: a reconnect, never a 500 and never a half-written change."""

import pytest
from werkzeug.test import Client

from wsgiauth.db import Database

from conftest import TEST_QUERIES


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


def test_a_connection_that_dies_in_a_transaction_is_discarded_and_nothing_is_written(db, kill):
    with pytest.raises(db.driver_errors):
        with db.transaction() as tx:
            tx.insert("insert_user", firstname="A", lastname="B", email="a@example.com", pwdhash="x", created_at=0)
            kill(tx.one("connection_id_for_tests")["id"])
            tx.one("connection_id_for_tests")  # the connection is gone: this fails, and so does the rollback
    assert db.one("user_uid_by_email", email="a@example.com") is None
    assert db.one("connection_id_for_tests")["id"]  # the pool opened a new one


def test_a_connection_dropped_under_a_request_is_a_503_then_the_app_recovers(mariadb_databases, mariadb_admin_url,
                                                                              make_app, kill):
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
        response = client.get("/signin")
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        assert "cannot reach its database" in response.get_data(as_text=True)
        assert client.get("/signin").status_code == 200  # the broken connection was dropped: no restart needed
    finally:
        app.db.close()
        mariadb_databases.give_back(url)
