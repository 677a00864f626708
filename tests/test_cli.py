"""The `wsgiauth` command as an operator uses it: accounts and groups, one clear line when the database is away."""

import functools
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from helpers import free_port
from werkzeug.test import Client

from wsgiauth import DatabaseUnavailable, create_app

from conftest import TEST_SECRET_KEY, AuthActions

DAY = 24 * 60 * 60


def wsgiauth(*args, database_url, stdin="", env=None):
    """Run `python -m wsgiauth ARGS` as a shell would (env: more variables); return the CompletedProcess."""
    env = {**os.environ, "WSGIAUTH_DATABASE": database_url, "WSGIAUTH_PASSWORD_METHOD": "pbkdf2:sha256:1000",
           **(env or {})}
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
    (["ada@example.com"], "Wsgiauth2024!\n", "password: Password must not be built on this site's name or address"),
])
def test_create_user_applies_the_sign_up_rules(database_url, query, args, stdin, message):
    done = wsgiauth("create-user", *args, "--first-name", "Ada", "--last-name", "Lovelace", "--password-stdin",
                    database_url=database_url, stdin=stdin)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert query("all_users_for_tests") == []


def test_create_user_and_set_password_refuse_the_operator_s_words(database_url, query):
    """ASVS 5.0 6.2.11: WSGIAUTH_PASSWORD_CONTEXT_WORDS reaches the command's checks too."""
    env = {"WSGIAUTH_PASSWORD_CONTEXT_WORDS": "Babbage", "WSGIAUTH_SITE_NAME": "Engines"}
    for stdin in ("babbage1834\n", "ENGINES!!\n"):
        done = wsgiauth("create-user", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace",
                        "--password-stdin", database_url=database_url, stdin=stdin, env=env)
        assert done.returncode == 2 and "password: Password must not be built on this site's name" in done.stderr
    assert query("all_users_for_tests") == []
    done = wsgiauth("create-user", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace",
                    "--password-stdin", database_url=database_url, stdin="a long pass phrase\n", env=env)
    assert done.returncode == 0
    refused = wsgiauth("set-password", "ada@example.com", "--password-stdin", database_url=database_url,
                       stdin="Babbage!!\n", env=env)
    assert refused.returncode == 2 and "Password must not be built on this site's name" in refused.stderr


def test_create_user_twice_is_refused(database_url, query):
    for _ in range(2):
        done = wsgiauth("create-user", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace",
                        "--password-stdin", database_url=database_url, stdin="a long pass phrase\n")
    assert done.returncode == 2
    assert done.stderr.strip() == ("wsgiauth create-user: an account with the address ada@example.com "
                                   "exists already")
    assert len(query("all_users_for_tests")) == 1


def events_by_command(query):
    """Return (event, uid, detail) of each audit row the command wrote: no actor, no IP, its own user agent."""
    rows = [row for row in query("security_events_for_tests") if row["user_agent"] == "wsgiauth command"]
    assert all(row["actor_uid"] is None and row["ip"] == "" for row in rows)
    return [(row["event"], row["uid"], row["detail"]) for row in rows]


@pytest.mark.both_databases
def test_the_first_admin_is_made_and_accounts_looked_after_from_the_command_line(database_url, make_app, make_user,
                                                                                   query):
    run = functools.partial(wsgiauth, database_url=database_url)
    # ASVS 5.0 6.3.2: no default account; the operator makes the first admin.
    done = run("create-user", "grace@example.com", "--first-name", "Grace", "--last-name", "Hopper", "--confirmed",
               "--group", "admin", "--password-stdin", stdin="a long pass phrase\n")
    assert done.stdout.strip() == "Created user #1 <grace@example.com> (address confirmed) in the group admin"
    app = make_app()
    ada = make_user(app)
    browser = AuthActions(Client(app))
    assert browser.signin().headers["Location"] == "/profile"
    assert run("add-to-group", "Ada@Example.com", "admin").stdout == "Added ada@example.com to the group admin.\n"
    assert run("list-admins").stdout == "2\tada@example.com\tAda Lovelace\n1\tgrace@example.com\tGrace Hopper\n"

    # Locked: the session ends at once and the right password no longer signs in.
    assert run("lock", "ada@example.com").stdout.startswith("Locked ada@example.com")
    assert browser.client.get("/profile").headers["Location"] == "/signin?next=/profile"
    refused = browser.signin()
    assert refused.status_code == 403 and "This account is locked" in refused.get_data(as_text=True)
    assert run("list-admins").stdout.splitlines()[0] == "2\tada@example.com\tAda Lovelace\tlocked"
    assert run("unlock", "ada@example.com").stdout == "Unlocked ada@example.com: its owner can sign in again.\n"
    assert browser.signin().headers["Location"] == "/profile"

    # A new password ends every session: this browser's, and any other.
    done = run("set-password", "ada@example.com", "--password-stdin", stdin="a brand new phrase\n")
    assert done.returncode == 0 and done.stdout.startswith("Set a new password for ada@example.com")
    assert [row["uid"] for row in query("all_sessions_for_tests")] == []
    assert browser.client.get("/profile").status_code == 303
    assert browser.signin().status_code == 200  # the old password: "Invalid e-mail or password"
    assert browser.signin(password="a brand new phrase").headers["Location"] == "/profile"
    assert events_by_command(query) == [("group_added", 1, "admin"), ("group_added", ada, "admin"),
                                        ("account_locked", ada, "1 sessions"), ("account_unlocked", ada, ""),
                                        ("password_set", ada, "")]


@pytest.mark.both_databases
def test_sign_out_everyone_from_the_command_line(database_url, make_app, make_user, query):
    """ASVS 5.0 7.4.5: the operator ends every session of every account; audited, and harmless to run again."""
    app = make_app()
    make_user(app)
    make_user(app, email="bob@example.com", firstname="Bob", lastname="Builder")
    browsers = [AuthActions(Client(app)) for _ in range(3)]
    for browser, email in zip(browsers, ["ada@example.com", "ada@example.com", "bob@example.com"]):
        assert browser.signin(email=email).headers["Location"] == "/profile"
    done = wsgiauth("sign-out-everyone", database_url=database_url)
    assert done.returncode == 0 and done.stdout == "Ended 3 sessions: everyone must sign in again.\n"
    assert query("all_sessions_for_tests") == []
    assert all(browser.client.get("/profile").headers["Location"] == "/signin?next=/profile" for browser in browsers)
    again = wsgiauth("sign-out-everyone", database_url=database_url)
    assert again.returncode == 0 and again.stdout == "Ended 0 sessions: everyone must sign in again.\n"
    assert events_by_command(query) == [("signed_out_everyone", None, "3 sessions"),
                                        ("signed_out_everyone", None, "0 sessions")]
    assert browsers[0].signin().headers["Location"] == "/profile"  # nothing else changed


def test_the_last_admin_is_neither_removed_nor_locked(database_url, make_user, app, query):
    run = functools.partial(wsgiauth, database_url=database_url)
    make_user()
    run("add-to-group", "ada@example.com", "admin")
    for command in (["remove-from-group", "ada@example.com", "admin"], ["lock", "ada@example.com"]):
        done = run(*command)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.strip() == (f"wsgiauth {command[0]}: refused: ada@example.com is the last administrator "
                                       "who can sign in; make someone else an administrator first "
                                       "(wsgiauth add-to-group EMAIL admin)")
    assert query("groups_of_user", uid=1) == [{"name": "admin"}]
    assert [event for event, _, _ in events_by_command(query)] == ["group_added"]
    # With a second admin who can sign in, either is allowed.
    make_user(email="grace@example.com")
    run("add-to-group", "grace@example.com", "admin")
    assert run("remove-from-group", "ada@example.com", "admin").stdout == (
        "Removed ada@example.com from the group admin.\n")
    assert run("lock", "ada@example.com").returncode == 0


def test_doing_what_is_done_already_changes_nothing(database_url, make_user, query):
    run = functools.partial(wsgiauth, database_url=database_url)
    make_user()
    for _ in range(2):
        added = run("add-to-group", "ada@example.com", "staff")
    assert added.stdout == "ada@example.com is in the group staff already: nothing changed.\n"
    assert run("remove-from-group", "ada@example.com", "finance").stdout == (
        "ada@example.com is not in the group finance: nothing changed.\n")
    assert run("unlock", "ada@example.com").stdout == "ada@example.com was not locked: nothing changed.\n"
    assert run("list-admins", "--group", "staff").stdout == "1\tada@example.com\tAda Lovelace\n"
    nobody = run("list-admins")
    assert nobody.returncode == 0 and nobody.stdout == ""
    assert "Nobody is in the group admin. Make the first administrator with: wsgiauth create-user" in nobody.stderr
    assert events_by_command(query) == [("group_added", 1, "staff")]


@pytest.mark.parametrize("command", [["add-to-group", "nobody@example.com", "staff"],
                                     ["remove-from-group", "nobody@example.com", "staff"],
                                     ["lock", "nobody@example.com"], ["unlock", "nobody@example.com"],
                                     ["set-password", "nobody@example.com", "--password-stdin"]])
def test_an_unknown_address_is_one_line(database_url, make_user, query, command):
    make_user()
    done = wsgiauth(*command, database_url=database_url, stdin="a brand new phrase\n")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"wsgiauth {command[0]}: there is no account with the address nobody@example.com\n"
    assert query("security_events_for_tests") == []


@pytest.mark.parametrize("args, stdin, message", [
    (["set-password", "ada@example.com", "--password-stdin"], "short\n",
     "wsgiauth set-password: password: Password must be at least 8 characters."),
    (["set-password", "ada@example.com", "--password-stdin"], "Lovelace Ada\n",
     "wsgiauth set-password: password: Password must not be your email address or name."),
    (["add-to-group", "ada@example.com", "finance,admin"], "",
     "wsgiauth add-to-group: A group name is 1 to 64 lower-case letters, digits, '.', '_' or '-', "
     "starting with a letter or digit."),
    (["create-user", "grace@example.com", "--first-name", "Grace", "--last-name", "Hopper", "--password-stdin",
      "--group", "admin", "--group", "staff!"], "a long pass phrase\n",
     "wsgiauth create-user: A group name is 1 to 64 lower-case letters, digits, '.', '_' or '-', "
     "starting with a letter or digit."),
])
def test_bad_input_changes_nothing(database_url, make_user, query, args, stdin, message):
    make_user()
    before = query("all_users_for_tests")
    done = wsgiauth(*args, database_url=database_url, stdin=stdin)
    assert done.returncode == 2 and done.stderr == message + "\n"
    assert query("all_users_for_tests") == before and query("security_events_for_tests") == []
    assert query("groups_of_user", uid=1) == []


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
    assert done.stdout.splitlines() == [
        "Deleted 0 expired session(s), 0 old attempt(s) and 0 idle rate-limit key(s).",
        "Deleted 0 security event(s) older than 400 days, 0 sent mail(s) older than 400 days and 0 Contact "
        "message(s) older than 400 days."]


@pytest.mark.both_databases
def test_cleanup_deletes_what_is_past_the_retention_the_operator_set_and_says_how_much(database_url, make_app,
                                                                                     clock, query):
    """ASVS 5.0 14.2.4: the retention settings decide what `wsgiauth cleanup` deletes, and it prints the counts."""
    clock.now = time.time() - 401 * DAY  # the command runs on the real clock
    app = make_app()
    ada = AuthActions(Client(app))
    ada.signup()
    ada.post_form("/contact", {"name": "Ada", "email": "ada@example.com", "subject": "Hi", "message": "Hello."})
    app.outbox.deliver_due()  # the confirmation and the Contact message, sent 401 days ago
    clock.now = time.time() - 10 * DAY
    assert ada.signin().status_code == 303
    app.outbox.deliver_due()
    assert [e["event"] for e in query("security_events_for_tests")] == ["signup", "signin"]
    assert [mail["status"] for mail in query("all_outbox_for_tests")] == ["sent"] * 3
    kept = wsgiauth("cleanup", database_url=database_url,
                    env={"WSGIAUTH_AUDIT_RETENTION_DAYS": "0", "WSGIAUTH_CONTACT_RETENTION_DAYS": "0"})
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.splitlines()[1] == ("Deleted no security events (kept without limit), no sent mails (kept "
                                           "without limit) and no Contact messages (kept without limit).")
    refused = wsgiauth("cleanup", database_url=database_url, env={"WSGIAUTH_AUDIT_RETENTION_DAYS": "-1"})
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.strip() == ("wsgiauth cleanup: WSGIAUTH_AUDIT_RETENTION_DAYS must be a number of days, "
                                      "or 0 to keep everything")
    assert len(query("security_events_for_tests")) == 2 and len(query("all_contact_messages_for_tests")) == 1
    assert len(query("all_outbox_for_tests")) == 3
    done = wsgiauth("cleanup", database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == ("Deleted 1 security event(s) older than 400 days, 2 sent mail(s) older "
                                           "than 400 days and 1 Contact message(s) older than 400 days.")
    assert "cleanup deleted 1 security event(s) older than 400 days" in done.stderr
    assert [e["event"] for e in query("security_events_for_tests")] == ["signin"]
    assert query("all_contact_messages_for_tests") == []
    assert [mail["subject"] for mail in query("all_outbox_for_tests")] == ["New sign-in to your account"]
