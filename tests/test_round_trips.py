"""What the pages people open most ask of the database (issue 18): one statement a request, counted by MariaDB.

Each round trip through PyMySQL costs more CPU than the rest of a page, so a page that needs its own rows reads
them with its session lookup (routes.SESSION_LOOKUPS). The server's own counter of SELECT statements says how
many each request made; it counts every client, so nothing else may use the server meanwhile (tests run one at a
time).
"""

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from conftest import ADA
from mariadb import global_status


def selects(admin_url) -> int:
    """Return how many SELECT statements the MariaDB server has run since it started."""
    return global_status(admin_url, "Com_select")


def statements(admin_url, client, path) -> tuple:
    """Return (status, SELECT statements) of client's GET of path, less those of reading the counter itself."""
    idle = -selects(admin_url) + selects(admin_url)
    before = selects(admin_url)
    status = client.get(path).status_code
    return status, selects(admin_url) - before - idle


def signed_in(app) -> Client:
    """Return a browser signed in as Ada (stored directly), who has just confirmed access by signing in."""
    client = Client(app)
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin", data={"email": ADA["email"], "password": ADA["password"],
                                            "csrf_token": csrf_token_in(page)})
    assert response.status_code == 303
    return client


@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
@pytest.mark.parametrize("passkeys", [False, True])
def test_each_hot_page_makes_one_select(make_app, make_user, mariadb_admin_url, passkeys):
    # Without BASE_URL no passkey can be offered (passkeys.relying_party); with them, the Security page lists
    # them in a statement of its own.
    app = make_app(**({} if passkeys else {"BASE_URL": None}))
    assert (app.passkeys is not None) == passkeys
    make_user(app, confirmed=True)
    client = signed_in(app)
    client.get("/profile")  # the first request may write last_seen; these are reads only
    expected = {"/profile": 1, "/": 1, "/auth/verify": 1, "/account": 1, "/security": 2 if passkeys else 1}
    assert {path: statements(mariadb_admin_url, client, path) for path in expected} == {
        path: (200, count) for path, count in expected.items()}
    # A cookie whose session has ended: the one lookup finds no session, and the page goes no further.
    phone = signed_in(app)
    page = client.get("/security").get_data(as_text=True)
    client.post("/signout/others", data={"csrf_token": csrf_token_in(page, action="/signout/others")})
    assert statements(mariadb_admin_url, phone, "/security") == (303, 1)
    # No cookie, no lookup: the sign-in page is the same for every visitor (app.shared_page).
    assert statements(mariadb_admin_url, Client(app), "/signin") == (200, 0)
