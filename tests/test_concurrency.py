"""Races: the UNIQUE constraint decides who gets an email; a key's counter row makes each limit exact."""

import threading

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

# A race the database's UNIQUE index decides: on each kind of database.
pytestmark = pytest.mark.both_databases

THREADS = 20


def at_once(app, path, post):
    """Load path's form in THREADS browsers, then have them all POST it at the same moment; return (status, page)s."""
    clients = [Client(app) for _ in range(THREADS)]
    tokens = [csrf_token_in(c.get(path).get_data(as_text=True)) for c in clients]
    start = threading.Barrier(THREADS)
    results = [None] * THREADS

    def send(i):
        start.wait()
        response = post(i, clients[i], tokens[i])
        results[i] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_simultaneous_signups_with_one_email_make_one_account(app, query):
    def sign_up(i, client, token):
        # Twenty browsers on twenty addresses: one address may sign up only
        # 10 times per 10 minutes (limits.SIGNUP_PER_IP).
        return client.post("/signup", data={
            "firstname": f"User{i}", "lastname": "Racer", "email": "race@example.com",
            "password": "correct horse", "csrf_token": token}, environ_base={"REMOTE_ADDR": f"127.0.0.{i + 1}"})

    results = at_once(app, "/signup", sign_up)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (THREADS - 1) + [303], statuses
    assert all("That email is already taken" in page for status, page in results if status == 200)
    assert len(query("all_users_for_tests")) == 1


def test_twenty_simultaneous_wrong_passwords_count_exactly_five_before_the_backoff(app, make_user, query):
    make_user()

    def sign_in(i, client, token):
        # From twenty addresses: the per-IP limit is not what stops them.
        return client.post("/signin", data={"email": "ada@example.com", "password": f"wrong {i}",
                                            "csrf_token": token}, environ_base={"REMOTE_ADDR": f"127.0.0.{i + 1}"})

    results = at_once(app, "/signin", sign_in)
    statuses = sorted(status for status, _ in results)
    # Five are checked (and fail); the other fifteen are refused unhashed.
    assert statuses == [200] * 5 + [429] * 15, statuses
    assert sum("Invalid e-mail or password" in page for _, page in results) == 5
    assert len(query("password_attempts_for_tests")) == 5


def test_twenty_simultaneous_sign_up_forms_from_one_address_admit_exactly_ten(app, query):
    def sign_up(i, client, token):
        return client.post("/signup", data={
            "firstname": f"User{i}", "lastname": "Racer", "email": f"racer{i}@example.com",
            "password": "correct horse", "csrf_token": token})

    statuses = sorted(status for status, _ in at_once(app, "/signup", sign_up))
    assert statuses == [303] * 10 + [429] * 10, statuses  # limits.SIGNUP_PER_IP: 10 per 10 minutes
    assert len(query("all_users_for_tests")) == 10
