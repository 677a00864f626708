"""ASVS 5.0 V13 Configuration: where the app connects, which methods and endpoints it answers."""

import ast
import re

import pytest

from wsgiauth import routes
from wsgiauth.cleanup import cleanup

import mariadb
from conftest import AuthActions
from support import ROOT, browser, inventory_paragraph

# Modules that open network connections (or listen for them).
NETWORK_MODULES = {"socket", "ssl", "smtplib", "http.client", "urllib.request", "pymysql", "ftplib", "requests",
                   "httpx", "aiohttp"}
# What frameworks and servers commonly expose: API documentation, status, metrics, debuggers.
EXPOSED = ("/docs", "/redoc", "/openapi.json", "/swagger", "/metrics", "/status", "/server-status", "/health",
           "/healthz", "/debug", "/console", "/_debug_toolbar/", "/phpinfo.php", "/.env", "/admin/console")


def network_modules(source: str) -> set:
    """Return the network modules a Python source imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in NETWORK_MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module in NETWORK_MODULES:
            found.add(node.module)
    return found


def test_13_1_1_the_inventory_names_every_file_that_opens_a_connection():
    """ASVS 5.0 13.1.1 (L2): SECURITY.md's "Connections" names every file of the package that connects (or
    listens), so a new outside service cannot be added without saying so."""
    assert network_modules("import http.client\nfrom smtplib import SMTP\nimport json") == {"http.client", "smtplib"}
    connecting = {path.relative_to(ROOT).as_posix() for path in (ROOT / "wsgiauth").rglob("*.py")
                  if network_modules(path.read_text(encoding="utf-8"))}
    named = set(re.findall(r"`(wsgiauth/[\w/]+\.py)`", inventory_paragraph("**Connections.**")))
    assert connecting == named


def test_13_4_4_trace_is_refused_and_echoes_nothing(client):
    """ASVS 5.0 13.4.4 (L2): TRACE, and any method a route does not list, is a 405 that echoes nothing sent."""
    for method in ("TRACE", "TRACK", "DEBUG", "PROPFIND"):
        for path in ("/", "/signin", "/profile", "/static/style.css"):
            response = client.open(path, method=method, headers={"X-Probe": "echo-me"}, buffered=True)
            assert response.status_code == 405, (method, path)
            assert method not in response.headers["Allow"]
            assert "echo-me" not in response.get_data(as_text=True) + str(response.headers)


def test_13_4_5_no_documentation_debug_or_monitoring_endpoints(client):
    """ASVS 5.0 13.4.2, 13.4.5 (L2): no API documentation, status, metrics or debugger answers; the URL map,
    the whole list of pages, has none."""
    for path in EXPOSED:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Traceback" not in response.get_data(as_text=True), path
    rules = [rule.rule for rule in routes.url_map().iter_rules()]
    assert [rule for rule in rules if re.search(r"doc|swagger|openapi|metric|status|health|debug|console", rule)] == []


@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_13_2_2_the_app_runs_under_an_account_that_may_only_read_and_write_rows(database_url, mariadb_admin_url,
                                                                                make_app, query):
    """ASVS 5.0 13.2.2 (L2): the web server needs no DDL: sign up, sign out, sign in, change the name, delete the
    account and `wsgiauth cleanup` all work under a MariaDB account that may only SELECT, INSERT, UPDATE and
    DELETE (and cannot create a table); only `wsgiauth migrate` needs more (README)."""
    with mariadb.account_for_rows(mariadb_admin_url, database_url) as url:
        assert not mariadb.may_create_tables(url) and mariadb.may_create_tables(database_url)
        app = make_app(DATABASE=url)
        ada = AuthActions(browser(app))
        assert ada.signup().headers["Location"] == "/profile"
        assert ada.signout().status_code == 303
        assert ada.signin().headers["Location"] == "/profile"
        assert ada.post_form("/account/name", {"firstname": "Augusta", "lastname": "King"},
                             form_path="/account").status_code == 303
        assert query("all_users_for_tests")[0]["firstname"] == "Augusta"
        assert ada.post_form("/account/delete", {"delete_confirm": "DELETE"}, form_path="/account").status_code == 303
        assert query("all_users_for_tests") == []
        assert cleanup(app.db, app.settings)["sessions"] == 0
        app.db.close()
