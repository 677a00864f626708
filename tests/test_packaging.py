"""The package as an operator installs it: the wheel in a venv (installed.py), used from another directory."""

import os
import zipfile

from helpers import free_port

from installed import run
from live import running
from test_servers import sign_up_out_and_in


def test_the_wheel_installs_migrates_and_serves_from_anywhere(wheel, wheel_venv, tmp_path):
    names = zipfile.ZipFile(wheel).namelist()
    # Everything the app reads ships inside the package; the benchmark does not.
    for name in ("wsgiauth/sql/queries.sql", "wsgiauth/sql/migrations/0006_plain_email_addresses.mysql.sql",
                 "wsgiauth/templates/base.html", "wsgiauth/static/style.css",
                 "wsgiauth/data/common-passwords.txt.gz"):
        assert name in names
    assert not any(name.startswith(("bench/", "tests/", "wsgiauth/benchmark/")) for name in names)

    bin_dir = wheel_venv / "bin"
    # Another directory, no checkout in sight: nothing may be read from ./sql or ./templates.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "WSGIAUTH_DATABASE": f"sqlite:///{tmp_path / 'site.db'}",
           "WSGIAUTH_SECRET_KEY": "packaging-test-secret-key-0123456789abcdef",
           "WSGIAUTH_PASSWORD_METHOD": "pbkdf2:sha256:1000", "PYTHONPATH": ""}
    migrated = run([str(bin_dir / "wsgiauth"), "migrate"], cwd=elsewhere, env=env)
    assert "Applied: 0000_schema_migrations" in migrated.stdout
    created = run([str(bin_dir / "wsgiauth"), "create-user", "grace@example.com", "--first-name", "Grace",
                   "--last-name", "Hopper", "--password-stdin"], cwd=elsewhere, env=env, input="a long pass phrase\n")
    assert "Created user #1 <grace@example.com>" in created.stdout
    port = free_port()
    command = [str(bin_dir / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgiauth:create_app()"]
    with running(command, port, env=env, cwd=elsewhere) as base_url:
        browser = sign_up_out_and_in(base_url)
        status, headers, _ = browser.submit("/signout", {})
        status, headers, _ = browser.submit("/signin", {"email": "grace@example.com",
                                                        "password": "a long pass phrase"})
        assert (status, headers["Location"]) == (303, "/profile")
