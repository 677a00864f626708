"""Races: the UNIQUE constraint, not a look-before-insert, decides who gets an email."""

import threading

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

# A race the database's UNIQUE index decides: on each kind of database.
pytestmark = pytest.mark.both_databases

THREADS = 20


def test_twenty_simultaneous_signups_with_one_email_make_one_account(app, query):
    clients = [Client(app) for _ in range(THREADS)]
    tokens = [csrf_token_in(c.get("/signup").get_data(as_text=True)) for c in clients]
    start = threading.Barrier(THREADS)
    results = [None] * THREADS

    def sign_up(i):
        start.wait()
        # Twenty browsers on twenty addresses: one address may sign up only
        # 10 times per 10 minutes (limits.SIGNUP_PER_IP).
        response = clients[i].post("/signup", data={
            "firstname": f"User{i}", "lastname": "Racer", "email": "race@example.com",
            "password": "correct horse", "csrf_token": tokens[i]}, environ_base={"REMOTE_ADDR": f"127.0.0.{i + 1}"})
        results[i] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (THREADS - 1) + [303], statuses
    assert all("That email is already taken" in page for status, page in results if status == 200)
    assert len(query("all_users_for_tests")) == 1
