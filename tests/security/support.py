"""Helpers for the ASVS tests: sign-in with extra fields, cookie and script inspection, counting password hashes."""

import re
from pathlib import Path

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

from conftest import ADA, AuthActions, querying, store_user

PASSWORD = "correct horse"
INVALID = "Invalid e-mail or password"


def passwords_js(app):
    """Return the one script tag of a page with password fields: passwords.js under the name the app links."""
    return [f'<script src="/static/{app.static_files.hashed["passwords.js"]}" defer>']


def signin(client, email="ada@example.com", password=PASSWORD, remember=False, path="/signin", **extra):
    """Load the sign-in page for its token and post the form (optionally ticking "Keep me signed in")."""
    page = client.get(path)
    data = {"email": email, "password": password, "csrf_token": csrf_token_in(page.get_data(as_text=True)),
            **extra}
    if remember:
        data["remember"] = "1"
    return client.post("/signin", data=data)


class EnvironClient(Client):
    """A test client whose every request carries the same extra WSGI environ (address, headers)."""

    def __init__(self, app, **environ):
        super().__init__(app)
        self.environ = environ

    def open(self, *args, **kwargs):
        """Send a request with this client's environ under the request's own."""
        kwargs["environ_base"] = {**self.environ, **(kwargs.get("environ_base") or {})}
        return super().open(*args, **kwargs)


def browser(app, addr="127.0.0.1", agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", **environ):
    """Return a test client that always comes from addr with the given User-Agent."""
    return EnvironClient(app, REMOTE_ADDR=addr, HTTP_USER_AGENT=agent, **environ)


def signed_up(app, addr="127.0.0.1", **fields):
    """Return a browser that signed up (and so is signed in) as Ada, or with other fields: for tests of sign-up."""
    client = browser(app, addr)
    response = AuthActions(client).signup(**fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def signed_in(app, addr="127.0.0.1", **fields):
    """Return a browser signed in through the form as Ada (or with other fields); the account is stored directly."""
    with querying(app.settings.DATABASE) as run:
        store_user(run, app.passwords, app.settings.CLOCK(), **fields)
    user = {**ADA, **fields}
    client = browser(app, addr)
    response = signin(client, email=user["email"], password=user["password"])
    assert response.headers.get("Location") == "/profile", response.get_data(as_text=True)
    return client


def scripts_in(html):
    """Return the <script> tags of a page: on pages with password fields, only passwords.js (ASVS 2.1.8, 2.1.12)."""
    return re.findall(r"<script[^>]*>", html)


def cookie_headers(response):
    """Return the Set-Cookie headers of a response."""
    return response.headers.getlist("Set-Cookie")


@pytest.fixture
def hash_calls(app, monkeypatch):
    """Count every password hash the app runs: app.passwords.hash and .check, wrapped."""
    calls = []
    for name in ("hash", "check"):
        original = getattr(app.passwords, name)

        def counted(*args, _original=original, _name=name):
            calls.append(_name)
            return _original(*args)

        # check_unknown_user calls self.check, so the dummy hash is counted too.
        monkeypatch.setattr(app.passwords, name, counted)
    return calls


# -- SECURITY.md's "Keys, hashes and data" section (ASVS 5.0 11.1.2, 13.1.1, 14.1.1) --

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = "## Keys, hashes and data"
BACKTICKED = re.compile(r"`([^`]+)`")



def inventory() -> str:
    """Return the text of SECURITY.md's inventory section, up to the next top-level heading."""
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    start = text.index(INVENTORY)
    end = text.find("\n## ", start + len(INVENTORY))
    return text[start:end if end != -1 else len(text)]


def inventory_table(first_header: str) -> list:
    """Return the rows (lists of cells) of the section's table whose first column is first_header."""
    rows, inside = [], False
    for line in inventory().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            inside = False
        elif cells[0] == first_header:
            inside = True
        elif inside and not set("".join(cells)) <= set("-: "):
            rows.append(cells)
    return rows


def inventory_paragraph(start: str) -> str:
    """Return the paragraph of the section that begins with start (e.g. "**Connections.**")."""
    return next(block for block in inventory().split("\n\n") if block.startswith(start))
