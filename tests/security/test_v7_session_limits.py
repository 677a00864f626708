"""ASVS 5.0 V7 Session Management: the most sessions an account may have (7.1.2), the NIST timeouts (7.1.1)."""

import re
import threading

import pytest
from helpers import csrf_token_in
from test_policy import SECURITY_MD

from support import browser, signin

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def live_sessions(app, query):
    """Return how many sessions the database holds (every one here is live)."""
    return len(query("all_sessions_for_tests"))


def limit_events(query):
    """Return the details (how many sessions ended) of every session_limit event, oldest first."""
    return [row["detail"] for row in query("security_events_for_tests") if row["event"] == "session_limit"]


@pytest.mark.both_databases
def test_a_sign_in_beyond_the_maximum_ends_the_least_recently_used_session(make_app, make_user, query, clock):
    """7.1.2: at most MAX_SESSIONS live sessions; the new sign-in is let in and the least recently used ends."""
    app = make_app(MAX_SESSIONS=3)
    make_user(app)
    first, second, third = (browser(app, addr=f"127.0.0.{i}") for i in (1, 2, 3))
    for each in (first, second, third):
        assert signin(each).headers["Location"] == "/profile"
        clock.advance(120)
    assert first.get("/profile").status_code == 200  # used again: the second is now the least recently used
    assert limit_events(query) == []
    fourth = browser(app, addr="127.0.0.4", agent=CHROME)
    assert signin(fourth).headers["Location"] == "/profile"  # never refused
    assert second.get("/profile").headers["Location"] == "/signin?next=/profile"
    assert all(each.get("/profile").status_code == 200 for each in (first, third, fourth))
    assert live_sessions(app, query) == 3 and limit_events(query) == ["1"]
    html = fourth.get("/security").get_data(as_text=True)
    assert "Your account can be signed in at most 3 times at once" in html
    assert "Chrome on Windows at 127.0.0.4" in html and "ended 1 session<" in html


@pytest.mark.both_databases
def test_expired_and_idle_sessions_do_not_count(make_app, make_user, query, clock):
    """7.1.2: only live sessions count: one idle for over 2 hours is no reason to end one in use."""
    app = make_app(MAX_SESSIONS=2)
    make_user(app)
    idle, used = browser(app, addr="127.0.0.1"), browser(app, addr="127.0.0.2")
    assert signin(idle).status_code == signin(used).status_code == 303
    clock.advance(2 * 3600 - 60)
    assert used.get("/profile").status_code == 200
    clock.advance(61)  # idle's 2 hours are over; used was seen a minute ago
    assert signin(browser(app, addr="127.0.0.3")).status_code == 303
    assert used.get("/profile").status_code == 200 and limit_events(query) == []


@pytest.mark.both_databases
def test_sign_ins_racing_at_the_maximum_leave_exactly_the_maximum(make_app, make_user, query):
    """7.1.2: the database decides a race: each sign-in that gets in ends one session, none is ended twice."""
    app = make_app(MAX_SESSIONS=3)
    make_user(app)
    for i in range(3):
        assert signin(browser(app, addr=f"127.0.1.{i}")).status_code == 303
    clients = [browser(app, addr=f"127.0.2.{i}") for i in range(6)]
    tokens = [csrf_token_in(c.get("/signin").get_data(as_text=True)) for c in clients]
    start, statuses = threading.Barrier(len(clients)), []

    def sign_in(client, token):
        """Wait for the others, then send the sign-in form."""
        start.wait()
        statuses.append(client.post("/signin", data={"email": "ada@example.com", "password": "correct horse",
                                                     "csrf_token": token}).status_code)

    threads = [threading.Thread(target=sign_in, args=pair) for pair in zip(clients, tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Right passwords arriving together may meet the account's backoff
    # (each is counted before its hash): 429, no session. Every 303 began one.
    assert set(statuses) <= {303, 429} and statuses.count(303) >= 1
    assert live_sessions(app, query) == 3
    assert sum(int(detail) for detail in limit_events(query)) == statuses.count(303)


def aal2_settings():
    """Return the settings SECURITY.md's NIST paragraph names for AAL2: {"SESSION_IDLE_TIMEOUT": "1800", ...}."""
    text = SECURITY_MD.read_text(encoding="utf-8")
    paragraph = text[text.index("To be AAL2-conformant"):].split("\n\n", 1)[0]
    return dict(re.findall(r"`WSGIAUTH_([A-Z_]+)=(\d+)`", paragraph))


@pytest.mark.both_databases
@pytest.mark.parametrize("remember", [False, True])
def test_the_settings_security_md_gives_for_aal2_end_sessions_as_nist_asks(make_app, make_user, clock, remember):
    """7.1.1: with the documented AAL2 settings, 30 minutes idle or 12 hours in all end a session, remembered or not."""
    settings = aal2_settings()
    assert set(settings) == {"SESSION_IDLE_TIMEOUT", "REMEMBER_LIFETIME", "REMEMBER_IDLE_TIMEOUT"}
    app = make_app(**settings)
    make_user(app)
    idle, busy = browser(app, addr="127.0.0.1"), browser(app, addr="127.0.0.2")
    assert signin(idle, remember=remember).status_code == signin(busy, remember=remember).status_code == 303
    step = 30 * 60 - 1  # busy is used every 29 minutes 59 seconds
    for n in range(1, 12 * 3600 // step + 1):
        clock.advance(step)
        assert busy.get("/profile").status_code == 200, n
        if n == 1:
            assert idle.get("/profile").status_code == 200  # then left alone
        if n == 3:  # unused for twice 29:59
            assert idle.get("/profile").headers["Location"] == "/signin?next=/profile"
    clock.advance(12 * 3600 - (12 * 3600 // step) * step + 1)
    assert busy.get("/profile").headers["Location"] == "/signin?next=/profile"  # 12 hours in all
