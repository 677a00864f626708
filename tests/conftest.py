"""Fixtures: databases (SQLite, and a real MariaDB for tests marked both_databases), app, client, auth helpers."""

import contextlib
import functools
import os
import shutil
from pathlib import Path

import pytest
from helpers import csrf_token_in
from werkzeug.test import Client

import wsgiauth.app
from wsgiauth import create_app
from wsgiauth.accounts import name_key
from wsgiauth.db import Database
from wsgiauth.migrations import migrate

import mariadb  # tests/mariadb.py: the throwaway server
import smtpserver  # tests/smtpserver.py: a real SMTP server (aiosmtpd)

# Cheap on purpose: the suite hashes hundreds of passwords. One test checks
# the real default (tests/test_passwords.py).
TEST_PASSWORD_METHOD = "pbkdf2:sha256:1000"
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_QUERIES = Path(__file__).with_name("queries.sql")
# Mail settings every test app gets; tests that need a real SMTP server
# pass MAIL_URL=smtp_server.url to make_app.
TEST_MAIL_FROM = "wsgiauth <noreply@example.org>"
TEST_CONTACT_TO = "owner@example.org"
TEST_BASE_URL = "http://localhost"
# The longest address the validators accept: a 64-character local part (RFC
# 5321's limit) and 189 characters of domain, 254 in all.
LONGEST_EMAIL = "e" * 64 + "@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 57 + ".com"
assert len(LONGEST_EMAIL) == 254

# PyMySQL (1.2) builds a TLS context for every connection it opens, TLS or
# not, and loading the system's CA bundle into it costs ~40 ms: more than most
# tests take. Nothing in the suite verifies a public certificate (the SMTP TLS
# tests point SSL_CERT_FILE at their own), so an empty bundle is enough here.
os.environ.setdefault("SSL_CERT_FILE", os.devnull)

# The browser fixtures (browser, live_server, page, ...) live in tests/chromium.py;
# the wheel and the venvs it is installed in (wheel, wheel_venv, debian_venv) in tests/installed.py.
pytest_plugins = ["chromium", "installed"]


def skip_or_fail(reason):
    """Skip a test that cannot run here; under CI=true that is a failure."""
    if IN_CI:
        pytest.fail(f"CI must run this test, but: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def common_passwords_read_once():
    """Read the list of common passwords once per test run, not once per app (~30 ms each, ~500 apps)."""
    # An app reads it once per process (app.py); a test process makes an app
    # per test. The list is a frozenset, so sharing it changes nothing.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wsgiauth.app, "load_common", functools.lru_cache(maxsize=None)(wsgiauth.app.load_common))
        yield


@pytest.fixture(scope="session")
def mariadb_admin_url():
    """Yield an admin URL for MariaDB: WSGIAUTH_TEST_MYSQL, else a throwaway mariadbd."""
    url = mariadb.admin_url_from_env()
    if url:
        yield url
        return
    try:
        server = mariadb.ThrowawayMariaDB()
        server.__enter__()
    except mariadb.MariaDBUnavailable as error:
        skip_or_fail(str(error))
    try:
        yield server.admin_url
    finally:
        server.__exit__(None, None, None)


DATABASE_KINDS = ("sqlite", "mysql")


def pytest_generate_tests(metafunc):
    """Run tests marked both_databases once per kind of database; every other test on SQLite only."""
    if not metafunc.definition.get_closest_marker("both_databases"):
        return  # database_url and live_server default to SQLite, and the test id says nothing
    # A test that uses a live server asks for its database through it.
    target = "live_server_process" if "live_server_process" in metafunc.fixturenames else "database_url"
    if target not in metafunc.fixturenames:
        raise pytest.UsageError(f"{metafunc.definition.nodeid} is marked both_databases but uses no database")
    metafunc.parametrize(target, DATABASE_KINDS, indirect=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated, empty SQLite file that each test gets a copy of (copying is ~40 times cheaper than migrating)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.db"
    db = Database(f"sqlite:///{path}")
    migrate(db)
    db.close()
    # WAL mode: closing the last connection wrote everything back to the file.
    assert not path.with_name(path.name + "-wal").exists()
    return path


class MariaDBDatabases:
    """Migrated MariaDB databases lent to one test at a time and emptied when given back."""

    def __init__(self, admin_url):
        self.admin_url = admin_url
        self.idle = []  # emptied, migrated, ready for the next test
        self.versions = None  # schema_migrations of a freshly migrated database

    def take(self):
        """Return the URL of an empty, migrated database nobody else is using."""
        if self.idle:
            return self.idle.pop()
        url = mariadb.create_database(self.admin_url)
        db = Database(url)
        migrate(db)
        db.close()
        if self.versions is None:
            self.versions = mariadb.empty_database(url)
        return url

    def give_back(self, url):
        """Empty the database for the next test; drop it instead if the test changed its schema_migrations."""
        if mariadb.empty_database(url) == self.versions:
            self.idle.append(url)
        else:
            mariadb.drop_database(url)

    def close(self):
        """Drop every database still lent or idle."""
        for url in self.idle:
            mariadb.drop_database(url)
        self.idle = []


@pytest.fixture(scope="session")
def mariadb_databases(mariadb_admin_url):
    """The session's MariaDB test databases (see MariaDBDatabases)."""
    databases = MariaDBDatabases(mariadb_admin_url)
    yield databases
    databases.close()


@pytest.fixture
def database_url(request, tmp_path):
    """Yield the URL of a fresh, migrated, empty database: SQLite, or MariaDB for tests marked both_databases."""
    if getattr(request, "param", "sqlite") == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("mariadb_databases")
    url = databases.take()
    try:
        yield url
    finally:
        databases.give_back(url)


@contextlib.contextmanager
def querying(url):
    """Yield run(name, **params) -> rows of a query in tests/queries.sql, on the database at url."""
    db = Database(url, query_files=[TEST_QUERIES])

    def run(name, **params):
        return db.transaction(lambda tx: tx.all(name, **params))

    try:
        yield run
    finally:
        db.close()


@pytest.fixture
def query(database_url):
    """Return run(name, **params) -> rows, to look at what the app stored."""
    with querying(database_url) as run:
        yield run


# Ada's account: what the tests type into forms, and what make_user stores.
ADA = {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com", "password": "correct horse"}


def store_user(run, passwords, now, confirmed=False, **fields):
    """Store an account (ADA, unless fields replace some) with run(query, ...); return its uid.

    passwords is an app's app.passwords, so the hash is the one sign-up would store;
    confirmed: whether the address counts as confirmed (sign-up leaves it unconfirmed).
    """
    user = {**ADA, **fields}
    run("create_user_for_tests", firstname=user["firstname"], lastname=user["lastname"], email=user["email"],
        pwdhash=passwords.hash(user["password"]), created_at=int(now), confirmed_at=int(now) if confirmed else None,
        name_key=name_key(user["firstname"], user["lastname"]))
    return run("user_uid_by_email", email=user["email"])[0]["uid"]


@pytest.fixture
def make_user(request, query, clock):
    """Return make(app=None, confirmed=False, **fields) -> uid: an account stored directly, not signed up.

    For tests that need a user but do not test sign-up. The password is hashed
    by app.passwords (the test app's unless another is given).
    """
    def make(app=None, confirmed=False, **fields):
        app = app or request.getfixturevalue("app")
        return store_user(query, app.passwords, clock(), confirmed=confirmed, **fields)

    return make


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port; .stop()/.start() it, read .messages."""
    with smtpserver.serving() as server:
        yield server


@pytest.fixture
def clock():
    """A controllable clock: tests move time with clock.advance(seconds)."""
    return FakeClock()


class FakeClock:
    """Seconds since the epoch that only move when told to."""

    def __init__(self, start=1_800_000_000.0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def make_app(database_url, clock, tmp_path):
    """Return a factory for apps on this test's database, with overridable settings."""
    apps = []

    def factory(**overrides):
        config = {
            "DATABASE": database_url,
            "SECRET_KEY": TEST_SECRET_KEY,
            "PASSWORD_METHOD": TEST_PASSWORD_METHOD,
            "CLOCK": clock,
            # Mail goes to .eml files in this test's folder, never ./instance.
            "MAIL_URL": f"file://{tmp_path / 'outbox'}",
            "MAIL_FROM": TEST_MAIL_FROM,
            "CONTACT_TO": TEST_CONTACT_TO,
            # Links in emails: the test client's own host, as production sets it.
            "BASE_URL": TEST_BASE_URL,
        }
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.db.close()


@pytest.fixture
def mail_app(make_app, smtp_server):
    """An app that sends its mail to the real SMTP server of the smtp_server fixture."""
    return make_app(MAIL_URL=smtp_server.url)


@pytest.fixture
def app(make_app):
    """The application under test."""
    return make_app()


@pytest.fixture
def client(app):
    """A werkzeug.test.Client that keeps cookies like a browser."""
    return Client(app)


# Where each email link leads once its token is in a cookie (views/common.py:take_token).
LINK_PAGES = {"/reset/": "/reset", "/confirm/": "/confirm/link", "/account/email/": "/account/email/link"}


class AuthActions:
    """Drive the account pages the way a browser would: load the form, post it."""

    def __init__(self, client):
        self.client = client

    def post_form(self, path, data, form_path=None):
        """GET the form page for its CSRF token, then POST data to path."""
        page = self.client.get(form_path or path)
        data = dict(data)
        data.setdefault("csrf_token", csrf_token_in(page.get_data(as_text=True)))
        return self.client.post(path, data=data)

    def open_link(self, path):
        """Open a link from an email as a browser does: its token goes into a cookie, then the redirect to the page."""
        # ASVS 5.0 14.2.1: the token leaves the address at once, whatever it
        # is; the answer that moves it is never cached or passed on.
        moved = self.client.get(path)
        assert moved.status_code == 303, (path, moved.status)
        assert moved.headers["Referrer-Policy"] == "no-referrer"
        location = moved.headers["Location"]
        assert location in LINK_PAGES.values() and path.rsplit("/", 1)[1] not in location, location
        return self.client.get(location)

    def signup(self, firstname=ADA["firstname"], lastname=ADA["lastname"], email=ADA["email"],
               password=ADA["password"]):
        """Submit the sign-up form."""
        return self.post_form(
            "/signup", {"firstname": firstname, "lastname": lastname, "email": email, "password": password}
        )

    def signin(self, email=ADA["email"], password=ADA["password"]):
        """Submit the sign-in form."""
        return self.post_form("/signin", {"email": email, "password": password})

    def signout(self):
        """Press the Sign Out button (on the sign-out page, which carries the token)."""
        return self.post_form("/signout", {})


@pytest.fixture
def auth(client):
    """Account actions through the test client."""
    return AuthActions(client)


class ClosingClient(Client):
    """A test client that closes each response once read, as a WSGI server does after sending it."""

    # Closing is when the request hands its mail to the outbox's delivery
    # thread; waiting for that thread means the mail has reached the SMTP
    # server by the time the test looks for it.
    def open(self, *args, buffered=True, **kwargs):
        response = super().open(*args, buffered=buffered, **kwargs)
        self.application.outbox.courier.wait()
        return response


@pytest.fixture
def new_browser(mail_app):
    """Return a function that opens a new browser (its own cookies) on the mail-sending app."""
    return lambda: AuthActions(ClosingClient(mail_app))


@pytest.fixture
def ada(new_browser, make_user, mail_app):
    """A browser signed in as Ada on the mail-sending app; her account was stored directly (unconfirmed)."""
    make_user(mail_app)
    browser = new_browser()
    assert browser.signin().headers["Location"] == "/profile"
    return browser


@pytest.fixture
def signed_in(auth, make_user):
    """The test client (auth) signed in as Ada through the sign-in form; her account was stored directly."""
    make_user()
    assert auth.signin().headers["Location"] == "/profile"
    return auth
