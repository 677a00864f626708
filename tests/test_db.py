"""The database layer: transactions are atomic and lone reads work, on both databases."""

import pytest

from wsgiauth.db import Database

# Every test here is about the database itself.
pytestmark = pytest.mark.both_databases


def user(n):
    """Return the parameters of insert_user for a made-up user number n."""
    return {"firstname": "User", "lastname": str(n), "email": f"user{n}@example.com", "pwdhash": "x",
            "created_at": 0, "name_key": f"user {n}"}


@pytest.fixture
def db(database_url):
    """A Database on this test's fresh, migrated database."""
    db = Database(database_url)
    yield db
    db.close()


def test_a_transaction_that_fails_part_way_writes_nothing(db, query):
    # MySQL connections run in autocommit mode outside transaction(): this
    # checks that transaction() really begins one.
    def work(tx):
        for n in (1, 2, 3):
            tx.insert("insert_user", **user(n))
        raise RuntimeError("something went wrong after the writes")

    with pytest.raises(RuntimeError):
        db.transaction(work)
    assert query("all_users_for_tests") == []


def test_a_lone_read_sees_committed_rows(db):
    assert db.one("user_uid_by_email", email="user1@example.com") is None
    uid = db.transaction(lambda tx: tx.insert("insert_user", **user(1)))
    assert db.one("user_uid_by_email", email="user1@example.com") == {"uid": uid}


