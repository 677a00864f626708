"""A real Chromium for the browser tests: the browser, the live server, watched pages, screenshots.

Fixtures (loaded by conftest.py through `pytest_plugins`):

- `browser`: one headless Debian Chromium for the whole session.
- `live_server`: the base URL of `python serve.py` on a free loopback port, on an empty
  SQLite database; a test marked `both_databases` runs a second time with the server on
  a migrated MariaDB database (conftest.pytest_generate_tests). One server serves a whole
  module (`live_server_process`), emptied before each test. Override `live_server_env`
  (module scope) to give it more settings, e.g. `live_smtp_server`, whose mail a test
  reads through `live_mail`.
- `live_user(**fields)`: stores an account (Ada's) in the live server's database.
- `new_page(width=1280, height=800, **context_options)`: a page in a new browser context
  whose base URL is the live server (so `page.goto("/signup")` works). Every context is
  watched: a console error (CSP violations are console errors), an uncaught exception or
  a 5xx response fails the test at teardown.
- `page`: `new_page()` at desktop width.
- `live_query(name, **params)`: rows of a query in tests/queries.sql, run on the live
  server's database, to see what it stored.
- `browser_problems`: the list the watchers fill, for a test that checks the watch itself.
- `screenshot(page, name)`: a full-page PNG in test-artifacts/screenshots/; the folder is
  printed at the end of the run.
"""

import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from helpers import free_port

from wsgiauth import create_app

import mariadb
import smtpserver
from conftest import TEST_PASSWORD_METHOD, TEST_SECRET_KEY, querying, skip_or_fail, store_user
from live import running

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips, or fails under CI, and says why
    expect = None

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SCREENSHOTS_TAKEN = pytest.StashKey[bool]()
CHROMIUM = "/usr/bin/chromium"
# Headless, and quiet: nothing may reach the network at test time (no
# component updates, no sync, no QUIC probing). No sandbox: tests run as root
# in containers, where Chromium's sandbox cannot start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE, DESKTOP = 375, 1280


@pytest.fixture(scope="session")
def browser():
    """Yield one headless Chromium (Debian's, never a download) for the session."""
    if expect is None:
        skip_or_fail("Playwright for Python is not installed: pip install -e '.[test]'")
    from playwright.sync_api import Error, sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Error as error:
            skip_or_fail(f"Chromium at {CHROMIUM} did not start: {error.message.splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def live_host():
    """The host name the module's live server is reached by; override (module scope) with "localhost" for passkeys."""
    # Browsers refuse an IP address as a WebAuthn RP ID, and BASE_URL names
    # the RP: passkey tests reach the same loopback server as localhost.
    return "127.0.0.1"


@pytest.fixture(scope="module")
def live_server_env():
    """Extra WSGIAUTH_* settings for the module's live server; override (module scope) to add some."""
    return {}


class LiveServer:
    """`python serve.py` in a folder of its own; one per test module (and kind of database)."""

    def __init__(self, folder, database, base_url):
        self.folder = folder  # its working directory: instance/ (secret key, SQLite file, outbox), server.log
        self.database = database  # the URL of its database, for querying it from the tests
        self.base_url = base_url

    def fresh(self):
        """Make the server as good as new for the next test: its mail sent, its database and outbox empty."""
        # Mail leaves after the response: wait until the last test's is out
        # (sent, or written to the outbox folder) before emptying anything.
        deadline = time.monotonic() + 15
        with querying(self.database) as run:
            while any(row["status"] == "pending" for row in run("all_outbox_for_tests")):
                if time.monotonic() > deadline:
                    break  # a test that leaves mail waiting: the rows go anyway
                time.sleep(0.02)
        if self.database.startswith("sqlite:"):
            empty_sqlite(self.database)
        else:
            mariadb.empty_database(self.database)
        shutil.rmtree(self.folder / "instance" / "outbox", ignore_errors=True)


def empty_sqlite(url):
    """Delete every row of a SQLite database but schema_migrations (ids start at 1 again)."""
    connection = sqlite3.connect(url[len("sqlite:///"):], timeout=10)
    try:
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        connection.execute("PRAGMA foreign_keys = OFF")
        with connection:
            for table in tables:
                if table != "schema_migrations":
                    connection.execute(f'DELETE FROM "{table}"')
    finally:
        connection.close()


@pytest.fixture(scope="module")
def live_server_process(request, tmp_path_factory, live_server_env, live_host):
    """Yield a LiveServer: serve.py on a fresh database (param "sqlite" or "mysql"), for one module."""
    kind = getattr(request, "param", "sqlite")
    folder = tmp_path_factory.mktemp("live-server")
    if kind == "mysql":
        databases = request.getfixturevalue("mariadb_databases")
        database = databases.take()
    else:
        # Relative to the server's working directory: a fresh instance/ in
        # its folder, where serve.py also writes its secret key.
        database = "sqlite:///instance/wsgiauth.db"
    port = free_port()
    # Links in mail are built from BASE_URL (never from the Host header), and
    # real SMTP mail refuses to start without it.
    env = {"WSGIAUTH_DATABASE": database, "WSGIAUTH_PASSWORD_METHOD": TEST_PASSWORD_METHOD,
           "WSGIAUTH_BASE_URL": f"http://{live_host}:{port}", **live_server_env}
    command = [sys.executable, str(ROOT / "serve.py"), "--port", str(port)]
    try:
        with running(command, port, env=env, cwd=folder, log=folder / "server.log") as base_url:
            yield LiveServer(folder, database.replace("sqlite:///", f"sqlite:///{folder}/"),
                             base_url.replace("127.0.0.1", live_host))
    finally:
        if kind == "mysql":
            databases.give_back(database)


@pytest.fixture
def live_server(live_server_process):
    """The base URL of the module's live server, made as good as new for this test."""
    # One server per module saves a start-up (~0.7 s) per test; the tests of a
    # module share nothing else: the database and the outbox are emptied
    # first, and every page is in a browser context of its own.
    live_server_process.fresh()
    return live_server_process.base_url


@pytest.fixture
def live_query(live_server_process, live_server):
    """Return run(name, **params) -> rows from the live server's database (tests/queries.sql)."""
    with querying(live_server_process.database) as run:
        yield run


@pytest.fixture(scope="session")
def live_passwords(sqlite_template):
    """The password hashing of an app with the live servers' settings (what sign-up would store)."""
    app = create_app({"DATABASE": f"sqlite:///{sqlite_template}", "SECRET_KEY": TEST_SECRET_KEY,
                      "PASSWORD_METHOD": TEST_PASSWORD_METHOD})
    app.db.close()
    return app.passwords


@pytest.fixture
def live_user(live_query, live_passwords):
    """Return make(**fields) -> uid: an account stored directly in the live server's database (Ada by default)."""
    return lambda confirmed=False, **fields: store_user(live_query, live_passwords, time.time(), confirmed, **fields)


@pytest.fixture(scope="module")
def live_smtp_server():
    """A real SMTP server for a module's live server (see live_server_env); its mail is emptied per test."""
    with smtpserver.serving() as server:
        yield server


@pytest.fixture
def live_mail(live_smtp_server, live_server):
    """The module SMTP server, holding no message yet: read by tests as `smtp_server`."""
    live_smtp_server.handler.envelopes.clear()  # after live_server waited for the last test's mail
    return live_smtp_server


@pytest.fixture
def browser_problems():
    """The console errors, uncaught exceptions and 5xx responses the pages ran into."""
    return []


def watch(context, problems):
    """Record in problems everything on context's pages that a person should never meet."""
    error_pages = set()  # (url, status) of documents that are meant to be errors, e.g. a 404

    def on_response(response):
        if response.status >= 500:
            problems.append(f"{response.status} from {response.request.method} {response.url}")
        elif response.status >= 400 and response.request.is_navigation_request():
            error_pages.add((response.url, response.status))

    def on_console(message):
        # Chromium reports an error page's own status in the console; the
        # test checks that status itself, so only that one line is let through.
        status = message.text.partition("status of ")[2][:3]
        expected = status.isdigit() and (message.location["url"], int(status)) in error_pages
        if message.type == "error" and not expected:
            problems.append(f"console error on {message.page.url if message.page else '?'}: "
                            f"{message.text} ({message.location['url']})")

    # A CSP violation reaches the console as an error ("Refused to load ..."),
    # so the console listener also catches inline styles and scripts.
    context.on("response", on_response)
    context.on("console", on_console)
    context.on("weberror", lambda error: problems.append(f"uncaught exception on {error.page.url}: {error.error}"))


@pytest.fixture
def new_page(browser, live_server, live_server_process, browser_problems):
    """Return open(width, height, **context_options) -> a watched page on the live server."""
    contexts = []

    def open_page(width=DESKTOP, height=800, **options):
        context = browser.new_context(base_url=live_server, viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(10_000)
        watch(context, browser_problems)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    if browser_problems:
        pytest.fail("the pages had problems (server log: {}):\n{}".format(
            live_server_process.folder / "server.log", "\n".join(browser_problems)), pytrace=False)


@pytest.fixture
def page(new_page):
    """A watched page at desktop width, in its own context, on the live server."""
    return new_page()


@pytest.fixture
def screenshot(request):
    """Return save(page, name) -> path of a full-page PNG named for the page and its width."""

    def save(page, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{page.viewport_size['width']}.png"
        page.screenshot(path=path, full_page=True)
        request.config.stash[SCREENSHOTS_TAKEN] = True
        return path

    return save


def pytest_terminal_summary(terminalreporter, config):
    """Say where the screenshots are, so a reviewer can look at them."""
    if config.stash.get(SCREENSHOTS_TAKEN, False):
        terminalreporter.write_sep("-", "screenshots")
        terminalreporter.write_line(f"Screenshots of every page: {SCREENSHOTS}")
