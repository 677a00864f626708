"""The `wsgiauth` command as an operator uses it: create-user, and one clear line when the database is out of reach."""

import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from helpers import free_port
from werkzeug.test import Client

from wsgiauth import DatabaseUnavailable, create_app

from conftest import TEST_SECRET_KEY, AuthActions


def wsgiauth(*args, database_url, stdin=""):
    """Run `python -m wsgiauth ARGS` as a shell would; return the CompletedProcess."""
    env = {**os.environ, "WSGIAUTH_DATABASE": database_url, "WSGIAUTH_PASSWORD_METHOD": "pbkdf2:sha256:1000"}
    return subprocess.run([sys.executable, "-m", "wsgiauth", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.both_databases
def test_create_user_then_sign_in_with_that_password(database_url, make_app, query):
    done = wsgiauth("create-user", "Grace@Example.com", "--first-name", "grace", "--last-name", "hopper",
                    "--password-stdin", "--confirmed", database_url=database_url, stdin="a long pass phrase\n")
    assert done.returncode == 0 and done.stdout.strip() == "Created user #1 <grace@example.com> (address confirmed)"
    (row,) = query("all_users_for_tests")
    assert (row["email"], row["firstname"], row["lastname"]) == ("grace@example.com", "Grace", "Hopper")
    assert row["confirmed_at"] is not None and "a long pass phrase" not in row["pwdhash"]
    assert AuthActions(Client(make_app())).signin("grace@example.com", "a long pass phrase").status_code == 303


@pytest.mark.parametrize("args, stdin, message", [
    (["ada@example.com"], "short\n", "password: Password must be at least 8 characters."),
    (["(x)ada@example.com"], "a long pass phrase\n", "email: Please enter your email address."),
    (["ada@example.com"], "lovelace ada\n", "password: Password must not be your email address or name."),
    (["ada@example.com"], "password123\n", "password: This password is too common."),
])
def test_create_user_applies_the_sign_up_rules(database_url, query, args, stdin, message):
    done = wsgiauth("create-user", *args, "--first-name", "Ada", "--last-name", "Lovelace", "--password-stdin",
                    database_url=database_url, stdin=stdin)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert query("all_users_for_tests") == []


def test_create_user_twice_is_refused(database_url, query):
    for _ in range(2):
        done = wsgiauth("create-user", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace",
                        "--password-stdin", database_url=database_url, stdin="a long pass phrase\n")
    assert done.returncode == 2
    assert done.stderr.strip() == ("wsgiauth create-user: an account with the address ada@example.com "
                                   "exists already")
    assert len(query("all_users_for_tests")) == 1


def unreachable_urls(admin_url):
    """Yield (database URL, what the message must name) for each way a MySQL server can be out of reach."""
    parts = urlsplit(admin_url)
    yield f"mysql://app:s3cret-pw@127.0.0.1:{free_port()}/wsgiauth", "Connection refused"
    yield "mysql://app:s3cret-pw@no-such-host.invalid/wsgiauth", "no-such-host.invalid"
    # The real server, the wrong password: error 1045, not "a schema that is behind".
    yield f"mysql://root:s3cret-pw@{parts.hostname}:{parts.port}/wsgiauth", "Access denied"


def test_an_unreachable_database_is_one_line_naming_the_server_never_the_password(mariadb_admin_url):
    for url, named in unreachable_urls(mariadb_admin_url):
        host = urlsplit(url).hostname
        for command in (["migrate"], ["deliver-mail"]):
            done = wsgiauth(*command, database_url=url)
            assert done.returncode == 2
            (line,) = done.stderr.strip().splitlines()
            assert line.startswith(f"wsgiauth {command[0]}: Cannot use the MySQL/MariaDB server at {host}:")
            assert named in line and "s3cret-pw" not in line and "migration" not in line
        with pytest.raises(DatabaseUnavailable) as raised:
            create_app({"DATABASE": url, "SECRET_KEY": TEST_SECRET_KEY})
        assert host in str(raised.value) and "s3cret-pw" not in str(raised.value)


def test_a_database_that_goes_away_gets_a_503_page(tmp_path, make_app, caplog):
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder / 'site.db'}"
    assert wsgiauth("migrate", database_url=url).returncode == 0
    app = make_app(DATABASE=url)
    client = Client(app)
    assert client.get("/signin").status_code == 200
    # The database's folder is replaced by a file: no connection can be opened.
    app.db.close()
    (folder / "site.db").unlink()
    folder.rmdir()
    folder.write_text("not a folder")
    response = client.get("/signin")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "We can&#39;t reach our database right now" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store" and "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("url, message", [
    ("postgres://db.example/x", "WSGIAUTH_DATABASE must start with sqlite:/// or mysql://, not 'postgres'"),
    ("sqlite:///", "sqlite:/// URLs need a file name"),
])
def test_a_malformed_database_url_is_one_line(url, message):
    done = wsgiauth("migrate", database_url=url)
    assert done.returncode == 2 and done.stderr.strip() == f"wsgiauth migrate: {message}" + (
        ", e.g. sqlite:///instance/wsgiauth.db" if url == "sqlite:///" else "")


def test_cleanup_runs_from_cron_and_says_what_it_deleted(database_url):
    done = wsgiauth("cleanup", database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Deleted 0 expired session(s), 0 old attempt(s) and 0 idle rate-limit key(s)."
