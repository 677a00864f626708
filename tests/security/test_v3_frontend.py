"""ASVS 5.0 V3 Web Frontend Security: what every response tells the browser, and every cookie the app sets."""

import importlib.resources
import logging
import re

from werkzeug.test import Client

from wsgiauth import accounts, limits, routes

from conftest import AuthActions
from support import browser, signed_in, signin

HTTPS = "https://localhost"
# The ASVS 5.0 3.4.3 minimum: a global policy with object-src 'none', base-uri 'none' and an allow list.
CSP_MINIMUM = ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'")


def every_kind_of_response(app, monkeypatch):
    """Return {what: response} for each kind of answer the app gives over HTTPS, error pages and files included."""
    client = Client(app)
    page = client.get(HTTPS + "/signin")
    # The files as the page names them (their URLs may carry a version).
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page.get_data(as_text=True))[1]
    script = re.search(r'<script src="([^"]+)"', page.get_data(as_text=True))[1]
    answers = {
        "page": page,
        "static file": client.get(HTTPS + stylesheet, buffered=True),
        "script": client.get(HTTPS + script, buffered=True),
        "redirect": client.get(HTTPS + "/profile"),
        "HEAD": client.head(HTTPS + "/about"),
        "OPTIONS": client.options(HTTPS + "/signin", headers={"Origin": "https://evil.example"}),
        "400 no CSRF token": client.post(HTTPS + "/signup", data={"firstname": "x"}),
        "401 text": client.get(HTTPS + "/auth/verify"),
        "403 other origin": client.post(HTTPS + "/signin", headers={"Origin": "https://evil.example"}),
        "404": client.get(HTTPS + "/nowhere"),
        "405": client.get(HTTPS + "/account/name"),
        "413": client.post(HTTPS + "/contact", data=b"x" * (app.settings.MAX_CONTENT_LENGTH + 1),
                           content_type="application/x-www-form-urlencoded"),
    }
    throttled = browser(app, addr="127.0.0.77")
    for n in range(limits.SIGNIN_PER_IP.limit):
        signin(throttled, email=f"u{n}@example.com", path=HTTPS + "/signin")
    answers["429"] = signin(throttled, email="last@example.com", path=HTTPS + "/signin")

    def broken_view(app, request):
        raise RuntimeError("boom")

    monkeypatch.setitem(routes.VIEWS, "about", broken_view)
    logging.getLogger("wsgiauth").disabled = True  # the traceback this 500 logs is expected here
    try:
        answers["500"] = client.get(HTTPS + "/about")
    finally:
        logging.getLogger("wsgiauth").disabled = False
    statuses = {what: response.status_code for what, response in answers.items()}
    assert statuses == {"page": 200, "static file": 200, "script": 200, "redirect": 303, "HEAD": 200,
                        "OPTIONS": 405, "400 no CSRF token": 400, "401 text": 401, "403 other origin": 403,
                        "404": 404, "405": 405, "413": 413, "429": 429, "500": 500}, statuses
    return answers


def directives(response) -> list:
    """Return the directives of a response's Content-Security-Policy."""
    return [d.strip() for d in response.headers["Content-Security-Policy"].split(";")]


def test_3_4_1_hsts_for_a_year_with_subdomains_on_every_response(make_app, monkeypatch):
    """3.4.1: with secure cookies (required in production) every answer, errors included, carries HSTS."""
    for what, response in every_kind_of_response(make_app(SECURE_COOKIES=True), monkeypatch).items():
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", what


def test_3_4_3_a_global_csp_with_object_src_and_base_uri_none_and_no_inline_script(make_app, monkeypatch):
    """3.4.3: one policy on every answer: scripts only from this site, no inline script, no eval, no plugins."""
    for what, response in every_kind_of_response(make_app(SECURE_COOKIES=True), monkeypatch).items():
        found = directives(response)
        assert all(d in found for d in CSP_MINIMUM), (what, found)
        assert "unsafe-inline" not in str(found) and "unsafe-eval" not in str(found), what


def test_3_4_4_and_3_4_6_nosniff_and_frame_ancestors_none_on_every_response(make_app, monkeypatch):
    """3.4.4, 3.4.6: no MIME sniffing and no framing by anyone, on every answer (X-Frame-Options only as well)."""
    for what, response in every_kind_of_response(make_app(SECURE_COOKIES=True), monkeypatch).items():
        assert response.headers["X-Content-Type-Options"] == "nosniff", what
        assert "frame-ancestors 'none'" in directives(response), what


def test_3_4_5_referrer_policy_same_origin_and_none_where_a_token_is_in_the_address(make_app, monkeypatch):
    """3.4.5: other sites get no path or query in Referer; a page whose address holds an email token sends none."""
    for what, response in every_kind_of_response(make_app(SECURE_COOKIES=True), monkeypatch).items():
        assert response.headers["Referrer-Policy"] == "same-origin", what
    client = Client(make_app())
    for path in ("/reset/some-token", "/confirm/some-token", "/account/email/some-token"):
        assert client.get(path).headers["Referrer-Policy"] == "no-referrer", path


def test_3_2_1_what_is_no_page_is_sandboxed_or_an_attachment(make_app, monkeypatch):
    """3.2.1: JSON, text, files and downloads opened directly render sandboxed (no script), downloads as attachments."""
    app = make_app(SECURE_COOKIES=True)
    for what, response in every_kind_of_response(app, monkeypatch).items():
        assert ("sandbox" in directives(response)) == (response.mimetype != "text/html"), what
    client = signed_in(app)
    data = client.get("/account/data")
    assert data.status_code == 200 and data.mimetype == "application/json"
    assert data.headers["Content-Disposition"].startswith("attachment;") and "sandbox" in directives(data)
    # JSON for the passkey scripts comes only from a POST with this browser's CSRF token.
    assert client.get("/signin/passkey/options").status_code == 405


def test_3_2_2_the_scripts_put_text_into_the_page_as_text_only():
    """3.2.2: every script the app ships writes text with textContent, never through an HTML sink or eval."""
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|"
                       r"\beval\(|new Function|setTimeout\(\s*[\"'`]|\.html\(")
    scripts = [path for path in (importlib.resources.files("wsgiauth") / "static").iterdir()
               if path.name.endswith(".js")]
    assert len(scripts) >= 3
    for path in scripts:
        script = path.read_text(encoding="utf-8")
        assert "textContent" in script, path.name
        assert not sinks.search(script), path.name


def test_3_4_2_no_cors_header_whatever_origin_asks(app):
    """3.4.2: no Access-Control-* header for any origin, even on a preflight: other sites cannot read answers."""
    client = signed_in(app)
    asks = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"}
    for response in (client.get("/profile", headers=asks), client.options("/signin", headers=asks),
                     client.post("/signin/passkey/options", headers=asks), client.get("/account/data", headers=asks),
                     client.get("/auth/verify", headers=asks)):
        assert not [name for name in response.headers.keys() if name.lower().startswith("access-control-")]


def secure_cookies_of_every_kind(make_app) -> list:
    """Return every Set-Cookie header of a journey over HTTPS that makes each cookie the app has (secure cookies)."""
    client = Client(make_app(SECURE_COOKIES=True))
    auth = AuthActions(client)
    responses = [
        auth.post_form(HTTPS + "/signup", {"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com",
                                           "password": "correct horse"}),  # the session cookie
        auth.post_form(HTTPS + "/signout", {}),  # ... expired
        auth.post_form(HTTPS + "/confirm", {"email": "ada@example.com"}),  # a notice for a browser without a row
        client.get(HTTPS + "/"),  # the notice shown: expired
    ]
    responses += [client.get(HTTPS + path) for path in ("/reset/t", "/confirm/t", "/account/email/t")]  # link cookies
    headers = [header for response in responses for header in response.headers.getlist("Set-Cookie")]
    names = {header.split("=", 1)[0] for header in headers}
    assert names == {"__Host-wsgiauth", "__Host-wsgiauth-notice", "__Secure-wsgiauth-reset-password",
                     "__Secure-wsgiauth-confirm-email", "__Secure-wsgiauth-change-email"}, names
    return headers


def attributes(header) -> list:
    """Return the attributes of a Set-Cookie header after its name=value, as written."""
    return [part.strip() for part in header.split(";")[1:]]


def test_3_3_1_every_cookie_is_secure_and_prefixed(make_app):
    """3.3.1: with secure cookies (required in production) each cookie is Secure, named __Host- or __Secure-."""
    for header in secure_cookies_of_every_kind(make_app):
        assert "Secure" in attributes(header), header
        assert header.startswith(("__Host-", "__Secure-")), header


def test_3_3_2_every_cookie_is_samesite_lax(make_app):
    """3.3.2: SameSite=Lax: never sent with another site's POST; sent when a link from a mail program is opened."""
    for header in secure_cookies_of_every_kind(make_app):
        assert "SameSite=Lax" in attributes(header), header


def test_3_3_3_host_prefix_where_the_path_is_the_root(make_app):
    """3.3.3: __Host- (no Domain, Path=/) for the session and notice; the path-limited link cookies are __Secure-."""
    for header in secure_cookies_of_every_kind(make_app):
        assert not any(a.startswith("Domain") for a in attributes(header)), header
        if header.startswith("__Host-"):
            assert "Path=/" in attributes(header), header
        else:
            assert [a for a in attributes(header) if a.startswith("Path=")] != ["Path=/"], header


def test_3_3_4_every_cookie_is_httponly_and_the_session_id_only_in_set_cookie(make_app):
    """3.3.4: no script reads any cookie, and no page or address carries the session cookie's value."""
    headers = secure_cookies_of_every_kind(make_app)
    for header in headers:
        assert "HttpOnly" in attributes(header), header
    client = Client(make_app(SECURE_COOKIES=True))
    response = AuthActions(client).post_form(HTTPS + "/signup", {
        "firstname": "Grace", "lastname": "Hopper", "email": "grace@example.com", "password": "correct horse"})
    value = client.get_cookie("__Host-wsgiauth", domain="localhost").value
    sid = value.rsplit(".", 1)[0]
    for path in ("/profile", "/security", "/account", "/account/data"):
        page = client.get(HTTPS + path)
        assert page.status_code == 200, path
        assert sid not in page.get_data(as_text=True) and sid not in str(page.headers), path
    assert sid not in response.headers["Location"]


def test_3_5_3_changes_need_a_post_and_no_get_changes_anything(app, make_user, query):
    """3.5.3: every URL that changes something answers GET with 405; a GET of every other URL changes nothing."""
    make_user()
    uid = query("user_uid_by_email", email="ada@example.com")[0]["uid"]
    app.db.transaction(lambda tx: accounts.add_to_group(app.settings, tx, None, uid, "admin"))
    client = browser(app)
    assert signin(client).headers["Location"] == "/profile"  # signed in, access confirmed: every page opens
    before = query("accounts_state_for_tests"), query("all_sessions_for_tests")
    values = {"uid": uid, "token": "not-a-token", "filename": "style.css"}
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        url = adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments})
        status = client.get(url, buffered=True).status_code
        if "GET" in rule.methods:
            assert status < 500, (url, status)
        else:
            assert status == 405, url
    assert (query("accounts_state_for_tests"), query("all_sessions_for_tests")) == before


def test_3_7_1_pages_use_only_html_css_and_script_from_this_site(client, signed_in):
    """3.7.1: no plugin content (object, embed, applet), no frames, and scripts only from /static."""
    for path in ("/", "/about", "/contact", "/profile", "/security", "/account", "/signout"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<(object|embed|applet|iframe|frame)\b", page, re.I), path
        assert all(src.startswith("/static/") for src in re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", page)), path
        assert "<script>" not in page, path
