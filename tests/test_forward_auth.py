"""Forward authentication: GET /auth/verify in-process, then behind a real nginx and Caddy."""

import contextlib
import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import free_port
from werkzeug.test import Client

from wsgiauth import accounts

from conftest import TEST_PASSWORD_METHOD, TEST_SECRET_KEY, AuthActions, skip_or_fail
from live import Browser, running

# The application a proxy protects, as an operator lists it, and what the
# proxy tells /auth/verify about the request it was asked for.
APP_ORIGIN = "https://app.example.org"
ASKED_FOR = "https://app.example.org/reports?q=1&x=2"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.org",
             "X-Forwarded-Uri": "/reports?q=1&x=2", "X-Forwarded-Method": "GET"}
IDENTITY = ("Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def proxied_app(make_app):
    """An app behind one trusted proxy that protects APP_ORIGIN with forward authentication."""
    return make_app(TRUSTED_PROXIES=1, FORWARD_AUTH_HOSTS=APP_ORIGIN)


def signin_link(location):
    """Return (the sign-in page's URL without its query, its `next` or None) from a Location."""
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query).get("next", [None])[0]


def assert_refused(response, way_to_sign_in=None):
    """Check a 401 that names nobody and stores nothing; its Location must be way_to_sign_in (see signin_link)."""
    assert response.status_code == 401
    if way_to_sign_in is None:
        assert "Location" not in response.headers
    else:
        assert signin_link(response.headers["Location"]) == way_to_sign_in
    assert not [name for name in IDENTITY if name in response.headers]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_signed_out_gets_401_and_answers_get_only(client):
    assert_refused(client.get("/auth/verify"))
    assert_refused(client.get("/auth/verify?redirect=1"))
    assert client.post("/auth/verify").status_code == 405


def test_signed_in_gets_200_with_who_it_is(client, make_user):
    make_user(firstname="Zoë", lastname="Łukasiewicz", email="zoe@example.com")
    AuthActions(client).signin(email="zoe@example.com")
    for response in (client.get("/auth/verify"), client.head("/auth/verify?redirect=1", headers=FORWARDED)):
        assert response.status_code == 200 and response.get_data() == b""
        assert response.headers["Remote-User"] == response.headers["Remote-Email"] == "zoe@example.com"
        # UTF-8 on the wire; WSGI hands it over as Latin-1 characters.
        assert response.headers["Remote-Name"].encode("latin-1").decode("utf-8") == "Zoë Łukasiewicz"
        assert response.headers["Remote-Groups"] == ""
        assert response.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response.headers


def join_groups(app, uid, *names):
    """Put uid in the groups named, as an admin or the `wsgiauth add-to-group` command does (accounts.py)."""
    app.db.transaction(lambda tx: [accounts.add_to_group(app, tx, None, uid, name) for name in names])


@pytest.mark.both_databases
def test_remote_groups_lists_the_user_s_groups_and_follows_every_change(app, client, make_user):
    uid = make_user()
    AuthActions(client).signin()
    assert client.get("/auth/verify").headers["Remote-Groups"] == ""
    # Comma-separated and sorted, whatever order the database joins them in.
    join_groups(app, uid, "staff", "admin", "finance")
    assert client.get("/auth/verify").headers["Remote-Groups"] == "admin,finance,staff"
    app.db.transaction(lambda tx: accounts.remove_from_group(app, tx, None, uid, "finance"))
    assert client.get("/auth/verify").headers["Remote-Groups"] == "admin,staff"


@pytest.mark.both_databases
def test_a_session_ended_elsewhere_is_refused_on_the_next_call(make_app, make_user):
    app = make_app()
    make_user(app)
    laptop, phone = AuthActions(Client(app)), AuthActions(Client(app))
    laptop.signin()
    phone.signin()
    assert laptop.client.get("/auth/verify").status_code == 200
    # "Sign out everywhere else" on the phone ends the laptop's session at once.
    assert phone.post_form("/signout/others", {}, form_path="/profile").status_code == 303
    assert_refused(laptop.client.get("/auth/verify"))
    assert phone.client.get("/auth/verify").status_code == 200
    phone.signout()
    assert_refused(phone.client.get("/auth/verify"))


def test_a_listed_origin_behind_the_trusted_proxy_gets_the_way_to_sign_in_and_back(proxied_app, make_user):
    make_user(proxied_app)
    client = Client(proxied_app)
    # 401 for nginx, with the sign-in page (WSGIAUTH_BASE_URL) and the way back in Location.
    response = client.get("/auth/verify", headers=FORWARDED)
    assert_refused(response, ("http://localhost/signin", ASKED_FOR))
    # ?redirect=1 for Caddy and Traefik: the same place as a redirect.
    for method in ("GET", "HEAD"):
        redirect = client.get("/auth/verify?redirect=1", headers={**FORWARDED, "X-Forwarded-Method": method})
        assert (redirect.status_code, redirect.headers["Location"]) == (302, response.headers["Location"])
        assert redirect.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in redirect.headers
    # A form's POST is not replayed after sign-in (as the sign-in gate): no
    # way back, and a 303 so the browser asks for the sign-in page with GET.
    posted = {**FORWARDED, "X-Forwarded-Method": "POST"}
    assert_refused(client.get("/auth/verify", headers=posted), ("http://localhost/signin", None))
    redirect = client.get("/auth/verify?redirect=1", headers=posted)
    assert (redirect.status_code, redirect.headers["Location"]) == (303, "http://localhost/signin")
    # Signing in on that page leads back to the URL asked for.
    signin_page = urlsplit(response.headers["Location"])
    signed_in = AuthActions(client).post_form(f"{signin_page.path}?{signin_page.query}",
                                              {"email": "ada@example.com", "password": "correct horse"})
    assert (signed_in.status_code, signed_in.headers["Location"]) == (303, ASKED_FOR)
    assert client.get("/auth/verify", headers=FORWARDED).headers["Remote-User"] == "ada@example.com"


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-Host": "evil.example"},
    {"X-Forwarded-Proto": "http"},
    {"X-Forwarded-Host": "app.example.org:8443"},
    {"X-Forwarded-Host": "app.example.org.evil.example"},
    {"X-Forwarded-Host": "app.example.org@evil.example"},
    {"X-Forwarded-Host": "evil.example@app.example.org"},
    {"X-Forwarded-Host": "app.example.org:99999"},
    {"X-Forwarded-Uri": "@evil.example/"},
    {"X-Forwarded-Uri": "https://evil.example/"},
    {"X-Forwarded-Uri": "/\t/evil.example"},
    {"X-Forwarded-Uri": None},
    # No X-Forwarded-Host: the request's own host, which is not listed.
    {"X-Forwarded-Host": None},
])
def test_no_way_to_sign_in_for_an_unlisted_origin(proxied_app, headers):
    client = Client(proxied_app)
    sent = {name: value for name, value in {**FORWARDED, **headers}.items() if value is not None}
    assert_refused(client.get("/auth/verify", headers=sent))
    assert_refused(client.get("/auth/verify?redirect=1", headers=sent))


def test_no_way_to_sign_in_without_a_trusted_proxy(make_app):
    # The proxy's headers with WSGIAUTH_TRUSTED_PROXIES=0 are the client's own
    # words, even on a request whose own Host is the listed origin.
    client = Client(make_app(FORWARD_AUTH_HOSTS=APP_ORIGIN))
    assert_refused(client.get("/auth/verify?redirect=1", headers=FORWARDED, base_url=APP_ORIGIN))


@pytest.mark.both_databases
def test_verify_changes_nothing_but_last_seen_as_every_request_does(make_app, make_user, clock, query):
    app = make_app(TRUSTED_PROXIES=1, FORWARD_AUTH_HOSTS=APP_ORIGIN)
    make_user(app)
    client = Client(app)
    AuthActions(client).signin()
    signed_in_at = query("all_sessions_for_tests")[0]["last_seen"]
    before = (query("security_events_for_tests"), query("attempts_for_tests"), query("all_outbox_for_tests"))
    stranger = Client(app)
    for _ in range(3):
        for response in (client.get("/auth/verify", headers=FORWARDED), stranger.get("/auth/verify"),
                         stranger.get("/auth/verify?redirect=1", headers=FORWARDED)):
            assert "Set-Cookie" not in response.headers
        clock.advance(19)
    # 57 s on, the session's last_seen is as sign-in wrote it (a write at most once a minute) ...
    assert query("all_sessions_for_tests")[0]["last_seen"] == signed_in_at
    clock.advance(3)
    client.get("/auth/verify")
    client.get("/auth/verify")
    # ... then written once, as any page would; nothing else changed, and nobody else got a session.
    assert [row["last_seen"] for row in query("all_sessions_for_tests")] == [signed_in_at + 60]
    assert (query("security_events_for_tests"), query("attempts_for_tests"), query("all_outbox_for_tests")) == before


# -- Behind real proxies --------------------------------------------------------
#
# The README's nginx and Caddy configurations, exactly as written there, but
# for the two addresses, in front of wsgiauth under gunicorn and of Echo, the
# application they protect. The browser is live.Browser (urllib, a cookie
# jar, redirects handed back to the test).

README = ROOT / "README.md"
# What the README's configurations call wsgiauth and the application.
WSGIAUTH_IN_README, APP_IN_README = "127.0.0.1:8000", "127.0.0.1:9000"
# What a client sends the proxy to pass for someone else, in both spellings
# (WSGI servers and PHP read Remote_User as Remote-User), and a host of its choosing.
FORGED = {"Remote-User": "admin@example.com", "Remote_User": "admin@example.com", "Remote-Email": "admin@example.com",
          "Remote-Name": "Admin", "Remote-Groups": "admins", "X-Forwarded-Host": "evil.example"}


def readme_config(name, wsgiauth_port, app_port):
    """Return the README's <!-- forward-auth: name --> configuration with the ports of this test's servers."""
    match = re.search(rf"<!-- forward-auth: {name} -->\n```\w+\n(.*?\n)```", README.read_text(), re.S)
    assert match, f"README.md has no forward-auth configuration for {name}"
    config = match.group(1)
    assert WSGIAUTH_IN_README in config and APP_IN_README in config
    return config.replace(WSGIAUTH_IN_README, f"127.0.0.1:{wsgiauth_port}").replace(APP_IN_README,
                                                                                  f"127.0.0.1:{app_port}")


def binary(name):
    """Return the path of a Debian package's server program, or skip (fail under CI=true) without it."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not path:
        skip_or_fail(f"{name} not found: apt-get install -y {name}")
    return path


class Echo(BaseHTTPRequestHandler):
    """The application behind the proxy: records each request and answers with its method, path and headers."""

    def do_GET(self):
        """Record the request as it arrived (raw header names and bytes) and send it back as JSON."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen = {"method": self.command, "path": self.path, "headers": self.headers.items()}
        self.server.received.append(seen)
        body = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        """Keep the test's output quiet."""


@pytest.fixture
def echo():
    """Run Echo on a free loopback port in a thread; its .received lists what reached it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@contextlib.contextmanager
def wsgiauth_behind(proxy_url, database_url, tmp_path, venv):
    """Run the installed wheel under gunicorn, trusting the proxy at proxy_url (its origin listed); yield its port."""
    port = free_port()
    env = {"WSGIAUTH_DATABASE": database_url, "WSGIAUTH_SECRET_KEY": TEST_SECRET_KEY,
           "WSGIAUTH_PASSWORD_METHOD": TEST_PASSWORD_METHOD, "WSGIAUTH_MAIL_URL": f"file://{tmp_path / 'outbox'}",
           "WSGIAUTH_TRUSTED_PROXIES": "1", "WSGIAUTH_BASE_URL": proxy_url + "/accounts",
           "WSGIAUTH_FORWARD_AUTH_HOSTS": proxy_url}
    # The wheel in its own venv (tests/installed.py), run from tmp_path: what an operator installs.
    env["PYTHONPATH"] = ""
    command = [str(venv / "bin" / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}",
               "wsgiauth:create_app()"]
    with running(command, port, env=env, cwd=tmp_path, log=tmp_path / "gunicorn.log"):
        yield port


def identity_seen(request):
    """Return the Remote-* headers a request reached Echo with, in either spelling, as name -> values (UTF-8)."""
    identity = {}
    for name, value in request["headers"]:
        if name.lower().replace("_", "-").startswith("remote-"):
            # http.server reads header bytes as Latin-1: these are UTF-8.
            identity.setdefault(name.lower(), []).append(value.encode("latin-1").decode("utf-8"))
    return identity


def sign_in_through(proxy_url, echo):
    """Walk a browser through the proxy: sent to sign in, back on its page, seen as Zoë in her groups, never forged."""
    browser = Browser(proxy_url)
    asked_for = "/reports/today?q=1&x=%2F"
    # Signed out, posing as admin: sent to the sign-in page, with the way
    # back on the proxy's own origin (not the forged X-Forwarded-Host).
    status, headers, _ = browser.request(asked_for, headers=FORGED)
    assert status == 302, status
    assert signin_link(headers["Location"]) == (proxy_url + "/accounts/signin", proxy_url + asked_for)
    signin_page = headers["Location"][len(proxy_url):]
    # The same request for a host that is not listed: no way to sign in at all.
    status, headers, _ = browser.request(asked_for, headers={"Host": "evil.example"})
    assert status == 401 and "Location" not in headers
    assert echo.received == []
    # Signs in on that page and lands on the URL asked for.
    status, headers, _ = browser.submit(signin_page, {"email": "ada@example.com", "password": "correct horse"})
    assert (status, headers["Location"]) == (303, proxy_url + asked_for)
    # The application sees who it is, on a page and on a form's POST (the
    # proxy asks wsgiauth with a GET: no CSRF token), never the forged identity.
    browser.request(asked_for, headers=FORGED)
    browser.request("/reports", data={"title": "Q3"}, headers=FORGED)
    assert [(seen["method"], seen["path"]) for seen in echo.received] == [("GET", asked_for), ("POST", "/reports")]
    for seen in echo.received:
        identity = {name: values for name, values in identity_seen(seen).items() if values != [""]}
        assert identity == {"remote-user": ["ada@example.com"], "remote-email": ["ada@example.com"],
                            "remote-name": ["Zoë Łukasiewicz"], "remote-groups": ["finance,staff"]}
    # Signed out (on wsgiauth's page): the next request is sent to sign in again.
    assert browser.submit("/accounts/signout", {})[0] == 303
    assert browser.request(asked_for)[0] == 302
    assert len(echo.received) == 2


def nginx_command(program, tmp_path, port, block):
    """Write an nginx.conf around the README's block, for 127.0.0.1:port; return (command, env)."""
    # In the foreground, with every file it writes in tmp_path: no system service.
    temp = "".join(f"{kind}_temp_path {tmp_path / ('nginx-' + kind)};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = tmp_path / "nginx.conf"
    config.write_text(f"daemon off;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'nginx-error.log'};\n"
                      f"events {{}}\nhttp {{\naccess_log off;\n{temp}"
                      f"server {{\nlisten 127.0.0.1:{port};\n{block}}}\n}}\n")
    return [program, "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "nginx-error.log")], {}


def caddy_command(program, tmp_path, port, block):
    """Write a Caddyfile around the README's block, for any Host on 127.0.0.1:port; return (command, env)."""
    # No admin endpoint, no certificates, its own home in tmp_path.
    config = tmp_path / "Caddyfile"
    config.write_text(f"{{\n\tadmin off\n\tauto_https off\n}}\nhttp://:{port} {{\n\tbind 127.0.0.1\n{block}}}\n")
    home = {name: str(tmp_path / "caddy-home") for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")}
    return [program, "run", "--config", str(config), "--adapter", "caddyfile"], home


def walk_behind(proxy, app, database_url, make_user, echo, tmp_path, venv):
    """Start wsgiauth and the proxy with the README's configuration, walk a browser through them, stop both."""
    command_for = {"nginx": nginx_command, "caddy": caddy_command}[proxy]
    program = binary(proxy)
    join_groups(app, make_user(firstname="Zoë", lastname="Łukasiewicz"), "staff", "finance")
    port = free_port()
    proxy_url = f"http://127.0.0.1:{port}"
    with wsgiauth_behind(proxy_url, database_url, tmp_path, venv) as wsgiauth_port:
        command, env = command_for(program, tmp_path, port, readme_config(proxy, wsgiauth_port, echo.server_port))
        with running(command, port, env=env, log=tmp_path / f"{proxy}.log", ready="/accounts/"):
            sign_in_through(proxy_url, echo)


def test_nginx_auth_request_signs_in_and_passes_who_it_is(app, database_url, make_user, echo, tmp_path, wheel_venv):
    walk_behind("nginx", app, database_url, make_user, echo, tmp_path, wheel_venv)


def test_caddy_forward_auth_signs_in_and_passes_who_it_is(app, database_url, make_user, echo, tmp_path, wheel_venv):
    walk_behind("caddy", app, database_url, make_user, echo, tmp_path, wheel_venv)
