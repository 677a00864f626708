"""The gate on every WSGI server: the installed wheel and tests/hostapp.py under gunicorn, waitress, uWSGI, mod_wsgi."""

import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from helpers import free_port

from conftest import skip_or_fail
from installed import run
from live import Browser, running
from test_servers import ADA

ROOT = Path(__file__).resolve().parent.parent
HOSTAPP = Path(__file__).with_name("hostapp.py")
FORGED = {"Remote-User": "admin@example.com"}

# The recipes README.md shows under "On every WSGI server", verbatim (the last
# test compares them): run from the site's folder ($SITE), with the venv at
# $VENV, on 127.0.0.1:$PORT. A shell runs each, as an operator's would.
GUNICORN = "$VENV/bin/gunicorn --workers 2 --bind 127.0.0.1:$PORT hostapp:application"
WAITRESS = "$VENV/bin/waitress-serve --listen=127.0.0.1:$PORT hostapp:application"
UWSGI = ("uwsgi --http-socket 127.0.0.1:$PORT --plugin python3 --virtualenv $VENV --wsgi-file hostapp.py \\\n"
         "    --master --processes 2 --lazy-apps --enable-threads --need-app --die-on-term")
# Apache reads ${SITE} and ${VENV} from its environment (Debian: /etc/apache2/envvars).
APACHE_SITE = """\
WSGIDaemonProcess hostapp python-home=${VENV}
WSGIProcessGroup hostapp
WSGIApplicationGroup %{GLOBAL}
WSGIScriptAlias / ${SITE}/hostapp.py
<Directory ${SITE}>
    Require all granted
</Directory>
"""
APACHE_MODULES = Path("/usr/lib/apache2/modules")
UWSGI_PYTHON3 = Path("/usr/lib/uwsgi/plugins/python3_plugin.so")


def make_site(folder, venv):
    """Fill folder with the host app, a secret key of its own and a database the installed wsgiauth migrated."""
    folder.mkdir()
    shutil.copy(HOSTAPP, folder / "hostapp.py")
    key = folder / "secret_key"
    key.write_text(secrets.token_urlsafe(32) + "\n")
    key.chmod(0o600)
    run([str(venv / "bin" / "wsgiauth"), "migrate", "--database", f"sqlite:///{folder / 'site.db'}"])
    return folder


def walk_through_the_gate(base_url, site):
    """Sign up, read a protected host page as yourself, sign out and be refused; a forged header never gets in."""
    browser = Browser(base_url)
    assert browser.request("/", headers=FORGED)[::2] == (200, "Hello, stranger")
    status, headers, _ = browser.submit("/accounts/signup", ADA)
    assert (status, headers["Location"]) == (303, "/accounts/profile")
    assert browser.request("/reports", headers=FORGED)[::2] == (200, "Hello, ada@example.com")
    # The confirmation email is written after the response, by the server's
    # own process: it must let the app's delivery thread run.
    deadline = time.monotonic() + 10
    while not list((site / "outbox").glob("*.eml")):
        assert time.monotonic() < deadline, "the confirmation email was never delivered"
        time.sleep(0.1)
    status, headers, _ = browser.submit("/accounts/signout", {})
    assert (status, headers["Location"]) == (303, "/accounts/")
    for sent in ({"Accept": "text/html"}, {"Accept": "text/html", **FORGED}):
        status, headers, _ = browser.request("/reports", headers=sent)
        assert (status, headers["Location"]) == (303, "/accounts/signin?next=/reports")
    assert browser.request("/reports", headers={"Accept": "application/json", **FORGED})[0] == 401


def audit_reached_the_servers_log(log):
    """Check that the audit events reached the server's error log at INFO, with no password or address in it."""
    # No logging configured by the operator: wsgiauth's own default (logs.py).
    deadline = time.monotonic() + 10
    while "security event signout" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the audit events never reached the server's log"
        time.sleep(0.1)
    text = log.read_text(errors="replace")
    assert "security event signup" in text
    assert ADA["password"] not in text and "ada@example.com" not in text.lower()


def serve_and_walk(command, env, site, log):
    """Start the server on a free loopback port, walk through the gate, stop it; a failure shows the server's log."""
    port = free_port()
    with running(command, port, env={**env, "SITE": str(site), "PORT": str(port)}, cwd=site, log=log) as base_url:
        try:
            walk_through_the_gate(base_url, site)
            audit_reached_the_servers_log(log)
        except AssertionError as error:
            raise AssertionError(f"{error}\n\nThe server's log:\n{log.read_text(errors='replace')}") from error


@pytest.mark.parametrize("recipe", [GUNICORN, WAITRESS], ids=["gunicorn", "waitress"])
def test_gunicorn_and_waitress_serve_a_host_app_behind_the_gate(recipe, wheel_venv, tmp_path):
    site = make_site(tmp_path / "site", wheel_venv)
    serve_and_walk(["sh", "-c", "exec " + recipe], {"VENV": str(wheel_venv)}, site, tmp_path / "server.log")


@pytest.fixture(scope="session")
def uwsgi():
    """Skip (fail under CI) without Debian's uWSGI and its python3 plugin; listed first, before the venv is made."""
    if shutil.which("uwsgi") is None or not UWSGI_PYTHON3.exists():
        skip_or_fail("uWSGI with its python3 plugin is not installed: apt-get install -y uwsgi uwsgi-plugin-python3")


@pytest.fixture(scope="session")
def apache2():
    """Return the path of Apache's apache2, with mod_wsgi; skip (fail under CI) without them."""
    apache = shutil.which("apache2", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if apache is None or not (APACHE_MODULES / "mod_wsgi.so").exists():
        skip_or_fail("Apache with mod_wsgi is not installed: apt-get install -y apache2 libapache2-mod-wsgi-py3")
    return apache


def test_uwsgi_serves_a_host_app_behind_the_gate(uwsgi, debian_venv, tmp_path):
    site = make_site(tmp_path / "site", debian_venv)
    serve_and_walk(["sh", "-c", "exec " + UWSGI], {"VENV": str(debian_venv)}, site, tmp_path / "server.log")


def test_apache_mod_wsgi_serves_a_host_app_behind_the_gate(apache2, debian_venv, web_root, tmp_path):
    # Apache's workers and mod_wsgi's daemon run as www-data: the site and
    # mod_wsgi's sockets (in the runtime folder) must be where they can go.
    home = Path(tempfile.mkdtemp(dir=web_root))
    home.chmod(0o755)
    site = make_site(home / "site", debian_venv)
    (home / "run").mkdir()
    if os.geteuid() == 0:  # as anyone else, Apache and mod_wsgi stay that user
        for path in (site, *site.iterdir()):
            shutil.chown(path, "www-data", "www-data")
    # This test's own server in place of Debian's /etc/apache2/apache2.conf:
    # run by root in the foreground, its log on stderr, nothing of the system's.
    conf = tmp_path / "apache2.conf"
    conf.write_text(f"""\
ServerRoot {tmp_path}
ServerName 127.0.0.1
Listen 127.0.0.1:${{PORT}}
PidFile {tmp_path}/apache2.pid
DefaultRuntimeDir {home}/run
ErrorLog /dev/stderr
User www-data
Group www-data
LoadModule mpm_event_module {APACHE_MODULES}/mod_mpm_event.so
LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so
LoadModule wsgi_module {APACHE_MODULES}/mod_wsgi.so
""" + APACHE_SITE)
    serve_and_walk([apache2, "-D", "FOREGROUND", "-f", str(conf)], {"VENV": str(debian_venv)}, site,
                   tmp_path / "server.log")


def test_the_readme_shows_the_host_app_and_the_recipes_these_tests_serve():
    readme = (ROOT / "README.md").read_text()
    for text in (HOSTAPP.read_text(), GUNICORN, WAITRESS, UWSGI, APACHE_SITE):
        assert text in readme, f"README.md's \"On every WSGI server\" no longer shows:\n{text}"
