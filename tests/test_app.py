"""The request cycle: CSRF refusal, 413, 404, 405, 500 and the headers every response carries."""

import gc
import io
import logging
import subprocess
import sys
import warnings

import pytest
from helpers import csrf_token_in
from jinja2 import UndefinedError
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

from wsgiauth import routes
from wsgiauth.app import FORM_EXPIRED as EXPIRED


def signup_data(**extra):
    """A valid sign-up form, without a CSRF token unless given."""
    data = {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com", "password": "correct horse"}
    data.update(extra)
    return data


@pytest.mark.parametrize("token", [None, "", "forged-token", "a" * 64])
def test_post_without_the_right_csrf_token_is_refused_and_changes_nothing(client, query, token):
    client.get("/signup")  # the browser holds a session cookie
    data = signup_data() if token is None else signup_data(csrf_token=token)
    response = client.post("/signup", data=data)
    assert response.status_code == 400
    assert EXPIRED in response.get_data(as_text=True)
    assert query("all_users_for_tests") == []


def test_post_with_no_cookie_at_all_is_refused(client, query):
    token = csrf_token_in(client.get("/signup").get_data(as_text=True))
    fresh = Client(client.application)  # same token, but no cookie
    response = fresh.post("/signup", data=signup_data(csrf_token=token))
    assert response.status_code == 400 and EXPIRED in response.get_data(as_text=True)
    assert query("all_users_for_tests") == []


def test_csrf_token_of_another_browser_is_refused(app, query):
    alice, mallory = Client(app), Client(app)
    alice.get("/signup")
    token = csrf_token_in(mallory.get("/signup").get_data(as_text=True))
    assert alice.post("/signup", data=signup_data(csrf_token=token)).status_code == 400
    assert query("all_users_for_tests") == []


def test_signin_and_signout_need_the_token_too(client, signed_in):
    assert client.post("/signout", data={}).status_code == 400
    assert client.get("/profile").status_code == 200  # still signed in
    signed_in.signout()
    assert client.post("/signin", data={"email": "ada@example.com", "password": "correct horse"}).status_code == 400
    assert client.get("/profile").status_code == 303


def test_body_over_one_mib_gets_413_without_being_read(app):
    class Unreadable(io.RawIOBase):
        def read(self, *args):
            raise AssertionError("the body was read")

        readinto = readline = read

    builder = EnvironBuilder(path="/signup", method="POST", content_type="application/x-www-form-urlencoded")
    environ = builder.get_environ()
    environ["wsgi.input"] = Unreadable()
    environ["CONTENT_LENGTH"] = str(1024 * 1024 + 1)
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413")
    assert "too large" in b"".join(body).decode()


def test_body_of_one_mib_is_read(client):
    client.get("/signup")
    response = client.post("/signup", data={"firstname": "x" * (1024 * 1024 - 200)})
    assert response.status_code == 400  # read and parsed; refused only for the missing token


def test_unknown_path_is_a_404_page_in_the_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "This page doesn’t exist" in page and 'class="site-header"' in page and ">Sign In<" in page


def test_404_page_shows_the_signed_in_nav(client, signed_in):
    page = client.get("/nowhere").get_data(as_text=True)
    assert ">Profile<" in page and ">Sign Out<" in page


def test_wrong_method_is_a_405_with_allow_header(client):
    response = client.put("/signin")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert client.post("/about").status_code == 405


def test_crash_gives_a_500_page_and_the_traceback_goes_to_the_log(client, monkeypatch, caplog):
    def broken_view(app, request):
        raise RuntimeError("boom: secret detail")

    monkeypatch.setitem(routes.VIEWS, "about", broken_view)
    with caplog.at_level(logging.ERROR, logger="wsgiauth"):
        response = client.get("/about")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "boom" not in page and "Traceback" not in page
    assert "RuntimeError: boom: secret detail" in caplog.text
    assert "GET /about" in caplog.text


def test_security_and_cache_headers_on_pages(client):
    response = client.get("/signin")
    headers = response.headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers


def test_stylesheet_is_served_from_the_package(client):
    # buffered: read and closed, as a server does (until then the file stays open).
    response = client.get("/static/style.css", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert client.get("/static/../app.py").status_code == 404


def test_pages_use_no_external_resources(client):
    for path in ("/", "/about", "/signup", "/signin"):
        page = client.get(path).get_data(as_text=True)
        assert "http://" not in page and "https://" not in page, path


def test_links_follow_the_mount_point_of_each_request(app):
    # Links without arguments are built once per mount point and reused:
    # the same app object answering under two prefixes must not mix them.
    for prefix in ["/accounts", "", "/other/place", "/accounts"]:
        response = Client(app).get("/signin", base_url=f"http://localhost{prefix}")
        page = response.get_data(as_text=True)
        assert f'href="{prefix}/signup"' in page and f'action="{prefix}/signin"' in page
        assert f'href="{prefix}/static/{app.static_files.hashed["style.css"]}"' in page


def test_the_urls_of_many_mount_points_stay_right_and_bounded(app):
    client = Client(app)
    for n in range(105):  # more mount points than the per-process cache keeps
        page = client.get("/", environ_overrides={"SCRIPT_NAME": f"/m{n}"}).get_data(as_text=True)
        assert f'href="/m{n}/signin"' in page
    assert len(app._page_urls) <= 100



# How a WSGI server hands over a chunked body: no Content-Length, the stream marked as ending.
CHUNKED = {"CONTENT_LENGTH": "", "wsgi.input_terminated": True}


@pytest.mark.parametrize("size", [2_000_000, 50_000_000])
def test_a_chunked_body_over_one_mib_gets_413_and_changes_nothing(client, query, size):
    # No Content-Length (Transfer-Encoding: chunked): the server marks the
    # stream as ending (wsgi.input_terminated), as gunicorn and waitress do.
    token = csrf_token_in(client.get("/contact").get_data(as_text=True))
    body = f"csrf_token={token}&name=Zoe&email=zoe%40example.com&subject=Hi&message=".encode() + b"x" * size
    response = client.post("/contact", input_stream=io.BytesIO(body), content_type="application/x-www-form-urlencoded",
                           environ_overrides=CHUNKED, headers={"Transfer-Encoding": "chunked"})
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)
    assert query("all_contact_messages_for_tests") == []


def test_a_chunked_body_under_the_limit_is_read_whole(client, query):
    token = csrf_token_in(client.get("/contact").get_data(as_text=True))
    body = f"csrf_token={token}&name=Zoe&email=zoe%40example.com&subject=Hi&message=Hello".encode()
    response = client.post("/contact", input_stream=io.BytesIO(body), content_type="application/x-www-form-urlencoded",
                           environ_overrides=CHUNKED, headers={"Transfer-Encoding": "chunked"})
    assert response.status_code == 303
    assert [row["message"] for row in query("all_contact_messages_for_tests")] == ["Hello"]


@pytest.mark.parametrize("tail", [b"--b--\r\n", b"", b"junk"])
def test_a_file_sent_with_a_form_leaves_no_open_file_behind(client, tail):
    # Found by the fuzz test (issue 14): a multipart part with a filename
    # became a temporary file, which nothing closed when the body ended
    # early or badly: only the garbage collector did, with a ResourceWarning.
    client.get("/contact")  # the browser holds a session cookie
    body = b'--b\r\nContent-Disposition: form-data; name="message"; filename="a.txt"\r\n\r\nx\r\n' + tail
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.post("/contact", input_stream=io.BytesIO(body),
                               content_type="multipart/form-data; boundary=b")
        gc.collect()
    assert response.status_code == 400  # no form, so no CSRF token
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_query_string_of_raw_bytes_that_are_no_utf8_is_read_not_a_500(client, make_app):
    # Found by the fuzz test (issue 14): browsers percent-encode, but any
    # client may send ?next=\xc3\xc0 as raw bytes, and Werkzeug's
    # request.args decoded them strictly: UnicodeDecodeError, a 500.
    raw = {"QUERY_STRING": "next=/profile\xc3\xc0&redirect=1\xff"}
    page = client.get("/signin", environ_overrides=raw)
    assert page.status_code == 200 and 'name="next"' not in page.get_data(as_text=True)  # no page of ours
    # /auth/verify reads ?redirect= when a trusted proxy names the page asked for.
    proxied = Client(make_app(TRUSTED_PROXIES=1, FORWARD_AUTH_HOSTS="https://app.example.org"))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.org", "X-Forwarded-Uri": "/x"}
    assert proxied.get("/auth/verify", headers=forwarded, environ_overrides=raw).status_code == 401


def test_a_line_break_in_the_query_of_a_redirect_to_the_slash_ending_url_is_a_400_not_a_500(app):
    # Found by the fuzz test (issue 15): mounted at /accounts, a request for
    # /accounts goes to /accounts/ with its query string, and a raw line
    # break in it made a Location header Werkzeug refuses.
    environ = EnvironBuilder(path="/", query_string="email=a\nb").get_environ()
    environ.update(PATH_INFO="", SCRIPT_NAME="/accounts")
    _, status, headers = run_wsgi_app(app, environ, buffered=True)
    assert status == "400 BAD REQUEST" and "Location" not in headers
    environ.update(QUERY_STRING="email=a")
    assert run_wsgi_app(app, environ, buffered=True)[1].startswith("308")


def test_error_pages_speak_plainly_and_offer_the_way_on(client, signed_in):
    # Issue 17: a heading in plain words (the status code stays, for whoever
    # reports it), and a way on: home, and the profile when signed in.
    page = client.get("/nowhere").get_data(as_text=True)
    assert "<title>This page doesn’t exist · wsgiauth</title>" in page and "Error 404" in page
    assert 'href="/profile">Your profile</a>' in page
    client.post("/signout", data={"csrf_token": csrf_token_in(client.get("/signout").get_data(as_text=True))})
    page = client.get("/nowhere").get_data(as_text=True)
    assert 'class="button secondary" href="/signin">Sign in</a>' in page
    page = client.post("/signin/passkey", data={}).get_data(as_text=True)  # no CSRF token, no form page to show again
    assert "<h1>This request didn’t work</h1>" in page


def test_every_text_response_names_its_charset(client, signed_in, app):
    # ASVS 5.0 4.1.1: a Content-Type with the charset wherever the body is
    # text: pages, errors, static files, the proxy's answer, the downloads.
    from wsgiauth.views.pages import STATIC_DIR
    paths = ["/", "/signin", "/nowhere", "/auth/verify", "/account/data", "/profile"]
    paths += [f"/static/{path.name}" for path in STATIC_DIR.iterdir() if path.is_file()]
    for path in paths:
        response = client.get(path, buffered=True)
        kind = response.headers["Content-Type"]
        assert kind.startswith(("text/", "application/json", "image/svg+xml")), (path, kind)
        assert kind.endswith("; charset=utf-8"), (path, kind)


def test_an_sqlite_app_never_loads_pymysql(tmp_path):
    """Issue 18: a worker on SQLite does not carry PyMySQL (~3 MiB, more with the cryptography it then imports)."""
    script = (
        "import sys\n"
        "from werkzeug.test import Client\n"
        "from wsgiauth import create_app\n"
        "from wsgiauth.db import Database\n"
        "from wsgiauth.migrations import migrate\n"
        f"url = 'sqlite:///{tmp_path}/app.db'\n"
        "migrate(Database(url))\n"
        "app = create_app({'DATABASE': url, 'SECRET_KEY': 'x' * 32})\n"
        "assert Client(app).get('/signin').status_code == 200\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'pymysql'))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_templates_read_a_dict_s_items_as_attributes_and_keep_its_methods(app):
    """app.Templates reads {{ row.at }} from the dict at once; a dict's methods stay methods; a missing name is an
    error (StrictUndefined), never a silent blank."""
    template = app.jinja.from_string("{{ row.at }} {{ row.ip }} {{ fields.items()|list|length }}")
    assert template.render(row={"at": 1, "ip": "<b>"}, fields={"items": "x", "keys": "y"}) == "1 &lt;b&gt; 2"
    with pytest.raises(UndefinedError, match="has no attribute 'missing'"):
        app.jinja.from_string("{{ row.missing }}").render(row={"at": 1})
