"""Issue 17: static files under names that change with their content, cached for a year; old names still work."""

import hashlib
import re
import shutil

from werkzeug.test import Client

from wsgiauth.views.pages import STATIC_DIR, StaticFiles, hashed_name

YEAR = "public, max-age=31536000, immutable"
BRIEF = "public, max-age=300"


def linked(page):
    """Return the URLs of a page's stylesheet, icon and scripts."""
    return re.findall(r'<(?:link rel="(?:stylesheet|icon)" href|script src)="([^"]+)"', page)


def test_pages_link_each_file_under_a_name_with_the_hash_of_what_it_serves(client):
    urls = linked(client.get("/signin").get_data(as_text=True))
    assert len(urls) == 4  # icon, stylesheet, passwords.js, passkeys.js
    for url in urls:
        # Same origin, under /static/: CSP's script-src and style-src 'self' cover them.
        name = re.fullmatch(r"/static/([a-z_]+)\.([0-9a-f]{8})\.(css|js|svg)", url)
        assert name, url
        body = client.get(url, buffered=True).get_data()
        assert hashlib.sha256(body).hexdigest()[:8] == name[2], url
    assert "script-src 'self'; style-src 'self'" in client.get("/signin").headers["Content-Security-Policy"]


def test_a_hashed_url_is_kept_a_year_and_revalidates_with_its_etag(client, app):
    for name, hashed in app.static_files.hashed.items():
        response = client.get(f"/static/{hashed}", buffered=True)
        assert response.status_code == 200 and response.headers["Cache-Control"] == YEAR, name
        assert "Expires" not in response.headers and "Last-Modified" in response.headers, name
        assert response.headers["Content-Type"].endswith("; charset=utf-8"), name
        assert response.get_data() == (STATIC_DIR / name).read_bytes()
        again = client.get(f"/static/{hashed}", headers={"If-None-Match": response.headers["ETag"]}, buffered=True)
        assert (again.status_code, again.get_data(), again.headers["Cache-Control"]) == (304, b"", YEAR), name
    css = client.get(f"/static/{app.static_files.hashed['style.css']}", buffered=True)
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"


def test_the_plain_name_and_another_release_s_hash_still_serve_the_file_briefly(client):
    today = (STATIC_DIR / "style.css").read_bytes()
    # A page from before a deploy, or one server of a rolling deploy
    # asking for the other release's name: styled, never cached for long.
    for path in ("/static/style.css", "/static/style.00000000.css", "/static/style.deadbeef.css"):
        response = client.get(path, buffered=True)
        assert (response.status_code, response.headers["Cache-Control"]) == (200, BRIEF), path
        assert response.get_data() == today and response.headers["Content-Type"] == "text/css; charset=utf-8"
    for path in ("/static/nothing.00000000.css", "/static/style.0000000.css", "/static/style.00000000.js",
                 "/static/style.00000000", "/static/../app.py", "/static/__init__.py"):
        assert client.get(path, buffered=True).status_code == 404, path


def test_the_name_changes_when_the_file_does(tmp_path):
    shutil.copytree(STATIC_DIR, tmp_path / "static")
    before = StaticFiles(tmp_path / "static").hashed
    assert before == StaticFiles(STATIC_DIR).hashed  # the same bytes, the same names
    (tmp_path / "static" / "style.css").write_bytes(b"body { color: red }\n")
    after = StaticFiles(tmp_path / "static").hashed
    assert after["style.css"] != before["style.css"] and after["style.css"].startswith("style.")
    assert {name: hashed for name, hashed in after.items() if name != "style.css"} == \
        {name: hashed for name, hashed in before.items() if name != "style.css"}
    assert hashed_name("LICENSE", b"x") == f"LICENSE.{hashlib.sha256(b'x').hexdigest()[:8]}"


def test_an_app_over_changed_files_links_the_new_name_and_still_answers_the_old_one(make_app, tmp_path):
    shutil.copytree(STATIC_DIR, tmp_path / "static")
    (tmp_path / "static" / "style.css").write_bytes(b"body { color: red }\n")
    app = make_app()
    old = app.static_files.hashed["style.css"]
    # What create_app does with the packaged folder, with the changed copy
    # (before the first request, which builds the links).
    app.static_files = StaticFiles(tmp_path / "static")
    new = app.static_files.hashed["style.css"]
    client = Client(app)
    assert f'href="/static/{new}"' in client.get("/").get_data(as_text=True)
    fresh = client.get(f"/static/{new}", buffered=True)
    assert (fresh.get_data(), fresh.headers["Cache-Control"]) == (b"body { color: red }\n", YEAR)
    stale = client.get(f"/static/{old}", buffered=True)
    assert (stale.get_data(), stale.headers["Cache-Control"]) == (b"body { color: red }\n", BRIEF)
