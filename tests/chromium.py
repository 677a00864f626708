"""A real Chromium for the browser tests: the browser, the live server, watched pages, screenshots.

Fixtures (loaded by conftest.py through `pytest_plugins`):

- `browser`: one headless Debian Chromium for the whole session.
- `live_server`: the base URL of `python serve.py` on a free loopback port, on a fresh
  SQLite database; a test marked `both_databases` runs a second time with the server on
  a fresh, migrated MariaDB database (conftest.pytest_generate_tests). Override `live_server_env`
  to give the server more settings (e.g. an SMTP catcher).
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
import sys
from pathlib import Path

import pytest

from conftest import TEST_PASSWORD_METHOD, querying, skip_or_fail
from helpers import free_port
from live import running

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips, or fails under CI, and says why
    expect = None

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SCREENSHOTS_TAKEN = pytest.StashKey[bool]()
LIVE_DATABASE = pytest.StashKey[str]()  # the live server's database URL, for live_query
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


@pytest.fixture
def live_server_env():
    """Extra WSGIAUTH_* settings for the live server; override to add some."""
    return {}


@pytest.fixture
def live_server(request, tmp_path, live_server_env):
    """Yield the base URL of serve.py on a fresh database (param "sqlite" or "mysql")."""
    kind = getattr(request, "param", "sqlite")
    if kind == "mysql":
        databases = request.getfixturevalue("mariadb_databases")
        database = databases.take()
    else:
        # Relative to the server's working directory: a fresh instance/ in
        # tmp_path, where serve.py also writes its secret key.
        database = "sqlite:///instance/wsgiauth.db"
    request.node.stash[LIVE_DATABASE] = database.replace("sqlite:///", f"sqlite:///{tmp_path}/")
    port = free_port()
    # Links in mail are built from BASE_URL (never from the Host header), and
    # real SMTP mail refuses to start without it.
    env = {"WSGIAUTH_DATABASE": database, "WSGIAUTH_PASSWORD_METHOD": TEST_PASSWORD_METHOD,
           "WSGIAUTH_BASE_URL": f"http://127.0.0.1:{port}", **live_server_env}
    command = [sys.executable, str(ROOT / "serve.py"), "--port", str(port)]
    try:
        with running(command, port, env=env, cwd=tmp_path, log=tmp_path / "server.log") as base_url:
            yield base_url
    finally:
        if kind == "mysql":
            databases.give_back(database)


@pytest.fixture
def live_query(request, live_server):
    """Return run(name, **params) -> rows from the live server's database (tests/queries.sql)."""
    with querying(request.node.stash[LIVE_DATABASE]) as run:
        yield run


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
def new_page(browser, live_server, browser_problems, tmp_path):
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
            tmp_path / "server.log", "\n".join(browser_problems)), pytrace=False)


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
