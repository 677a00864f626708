"""Start-up: settings from a dict, a settings file or the environment; migrations; the default hash."""

import subprocess
import sys

import pytest
from werkzeug.test import Client

from wsgiauth import ConfigError, create_app
from wsgiauth.config import DEFAULT_PASSWORD_METHOD, read_settings
from wsgiauth.migrations import SchemaBehind

from conftest import TEST_SECRET_KEY, AuthActions


def test_secret_key_is_required(database_url, monkeypatch):
    monkeypatch.delenv("WSGIAUTH_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="WSGIAUTH_SECRET_KEY is not set"):
        create_app({"DATABASE": database_url})


def test_unknown_setting_is_refused(database_url):
    with pytest.raises(ConfigError, match="NOT_A_SETTING"):
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY, "NOT_A_SETTING": 1})


def test_settings_come_from_the_environment(database_url, monkeypatch):
    monkeypatch.setenv("WSGIAUTH_DATABASE", database_url)
    monkeypatch.setenv("WSGIAUTH_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("WSGIAUTH_SECURE_COOKIES", "1")
    monkeypatch.setenv("WSGIAUTH_PASSWORD_METHOD", "pbkdf2:sha256:2000")
    monkeypatch.setenv("WSGIAUTH_SESSION_LIFETIME", "600")
    app = create_app()
    try:
        assert app.settings.SECURE_COOKIES is True
        assert app.settings.SESSION_LIFETIME == 600
        assert app.passwords.method == "pbkdf2:sha256:2000"
    finally:
        app.db.close()


def test_bad_environment_values_are_explained(database_url, monkeypatch):
    monkeypatch.setenv("WSGIAUTH_SESSION_LIFETIME", "a day")
    with pytest.raises(ConfigError, match="WSGIAUTH_SESSION_LIFETIME must be a whole number"):
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY})


@pytest.mark.both_databases
def test_default_password_method_meets_owasp(make_app, query):
    assert DEFAULT_PASSWORD_METHOD == "scrypt:32768:8:3"
    app = make_app(PASSWORD_METHOD=DEFAULT_PASSWORD_METHOD)
    AuthActions(Client(app)).signup()
    (row,) = query("all_users_for_tests")
    assert row["pwdhash"].startswith("scrypt:32768:8:3$")


def test_create_app_refuses_a_schema_that_is_behind(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(SchemaBehind, match=r"python -m wsgiauth migrate"):
        create_app({"DATABASE": url, "SECRET_KEY": TEST_SECRET_KEY})


def test_migrate_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {"WSGIAUTH_DATABASE": url, "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-m", "wsgiauth", "migrate"], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "Applied: 0000_schema_migrations, 0001_users_and_sessions" in first.stdout
    again = subprocess.run([sys.executable, "-m", "wsgiauth", "migrate"], env=env, capture_output=True, text=True)
    assert "up to date" in again.stdout
    app = create_app({"DATABASE": url, "SECRET_KEY": TEST_SECRET_KEY})
    assert Client(app).get("/").status_code == 200


def test_migrate_command_on_mariadb(mariadb_admin_url):
    import mariadb
    url = mariadb.create_database(mariadb_admin_url)
    try:
        result = subprocess.run([sys.executable, "-m", "wsgiauth", "migrate", "--database", url],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "0001_users_and_sessions" in result.stdout
        app = create_app({"DATABASE": url, "SECRET_KEY": TEST_SECRET_KEY})
        assert Client(app).get("/signin").status_code == 200
        app.db.close()
    finally:
        mariadb.drop_database(url)


@pytest.mark.parametrize("url", ["example.org", "ftp://example.org", "https://", "https://example.org/?next=x",
                                 "https://example.org/#top", "https://user@example.org"])
def test_base_url_must_be_a_plain_http_address(database_url, url):
    with pytest.raises(ConfigError, match="WSGIAUTH_BASE_URL must look like https://example.org"):
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY, "BASE_URL": url})


@pytest.mark.parametrize("hosts", ["app.example.org", "https://app.example.org/app", "ftp://app.example.org",
                                   "https://user@app.example.org", "https://app.example.org:https",
                                   "https://a.example, https://", "https://app.example.org/?x=1"])
def test_forward_auth_hosts_must_be_origins(database_url, hosts):
    with pytest.raises(ConfigError, match="WSGIAUTH_FORWARD_AUTH_HOSTS must list origins such as"):
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY, "BASE_URL": "https://example.org",
                    "FORWARD_AUTH_HOSTS": hosts})


def test_forward_auth_hosts_need_base_url(database_url):
    # The sign-in page /auth/verify points to is never built from request headers.
    with pytest.raises(ConfigError, match="WSGIAUTH_FORWARD_AUTH_HOSTS needs WSGIAUTH_BASE_URL"):
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY,
                    "FORWARD_AUTH_HOSTS": "https://app.example.org"})


def test_forward_auth_hosts_come_from_the_environment(database_url, monkeypatch):
    monkeypatch.setenv("WSGIAUTH_FORWARD_AUTH_HOSTS", " https://App.Example.org:443/, http://127.0.0.1:8080 ,")
    app = create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY, "BASE_URL": "https://example.org"})
    try:
        assert app.forward_auth_origins == {"https://app.example.org", "http://127.0.0.1:8080"}
    finally:
        app.db.close()


def test_real_mail_needs_base_url(database_url):
    # Without it, reset links would be built from the Host header a client sends.
    with pytest.raises(ConfigError, match=r"set WSGIAUTH_BASE_URL \(they still have their development defaults\)"):
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY, "MAIL_URL": "smtp://127.0.0.1:25",
                    "MAIL_FROM": "noreply@example.org", "CONTACT_TO": "owner@example.org"})


def test_lifecycle_settings_come_from_the_environment(database_url, monkeypatch):
    monkeypatch.setenv("WSGIAUTH_BASE_URL", "https://example.org/accounts")
    monkeypatch.setenv("WSGIAUTH_REQUIRE_CONFIRMED_EMAIL", "1")
    app = create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY})
    try:
        assert app.settings.REQUIRE_CONFIRMED_EMAIL is True
        assert app.settings.BASE_URL == "https://example.org/accounts"
    finally:
        app.db.close()


@pytest.mark.parametrize("name, value, message", [
    ("SECURE_COOKIES", "maybe", "WSGIAUTH_SECURE_COOKIES must be 1 or 0, not 'maybe'"),
    ("SESSION_LIFETIME", "0", "WSGIAUTH_SESSION_LIFETIME must be a positive number of seconds"),
    ("REMEMBER_IDLE_TIMEOUT", "-5", "WSGIAUTH_REMEMBER_IDLE_TIMEOUT must be a positive number of seconds"),
    ("CONFIRM_ACCESS_MINUTES", "0", "WSGIAUTH_CONFIRM_ACCESS_MINUTES must be a positive number of minutes"),
    ("MAX_SESSIONS", "0", "WSGIAUTH_MAX_SESSIONS must be a positive number of sessions"),
    ("LOG_LEVEL", "LOUD", "WSGIAUTH_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'LOUD'"),
    ("LOG_FORMAT", "xml", "WSGIAUTH_LOG_FORMAT must be text or json, not 'xml'"),
    ("TOTP_DRIFT", "2", "WSGIAUTH_TOTP_DRIFT must be 0 (ASVS 5.0) or 1 (RFC 6238's drift), not 2"),
])
def test_settings_that_make_no_sense_are_refused_by_name(database_url, monkeypatch, name, value, message):
    monkeypatch.setenv("WSGIAUTH_" + name, value)
    with pytest.raises(ConfigError) as refused:
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY})
    assert str(refused.value) == message


def test_off_and_no_mean_off(database_url, monkeypatch):
    for value in ("0", "off", "no", "false", ""):
        monkeypatch.setenv("WSGIAUTH_SECURE_COOKIES", value)
        app = create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY})
        assert app.settings.SECURE_COOKIES is False
        app.db.close()


def test_the_settings_dict_takes_the_environment_variables_names(database_url):
    # As a mod_wsgi script passes them on (SetEnv never reaches os.environ):
    # strings, read as the environment would read them.
    app = create_app({"WSGIAUTH_DATABASE": database_url, "WSGIAUTH_SECRET_KEY": TEST_SECRET_KEY,
                      "SECRET_KEY": TEST_SECRET_KEY, "WSGIAUTH_SECURE_COOKIES": "0",
                      "WSGIAUTH_SESSION_LIFETIME": "600", "REMEMBER_LIFETIME": 900})
    try:
        assert app.settings.SECRET_KEY == TEST_SECRET_KEY and app.settings.SECURE_COOKIES is False
        assert (app.settings.SESSION_LIFETIME, app.settings.REMEMBER_LIFETIME) == (600, 900)
    finally:
        app.db.close()


def test_a_setting_given_both_ways_with_different_values_is_refused(database_url):
    with pytest.raises(ConfigError) as refused:
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY, "WSGIAUTH_SECRET_KEY": "another-key"})
    assert str(refused.value) == ("WSGIAUTH_SECRET_KEY is given twice with different values "
                                  "(as SECRET_KEY and as WSGIAUTH_SECRET_KEY)")


def settings_file(tmp_path, *lines, mode=0o600, encoding="utf-8"):
    """Write a settings file of these lines with this mode; return its path."""
    path = tmp_path / "settings.env"
    path.write_bytes("".join(line + "\n" for line in lines).encode(encoding))
    path.chmod(mode)
    return path


def test_a_settings_file_with_comments_quotes_and_both_spellings(database_url, tmp_path):
    path = settings_file(
        tmp_path, "# wsgiauth's settings (mode 0600: it holds the secret key)", "",
        f"WSGIAUTH_DATABASE={database_url}", f'  SECRET_KEY = "{TEST_SECRET_KEY}"  ', "   # an indented comment",
        "WSGIAUTH_MAIL_FROM='Example <noreply@example.org>'", "SESSION_LIFETIME=600",
        "WSGIAUTH_SECRET_KEY_FALLBACKS=old#key=", "", "WSGIAUTH_SECURE_COOKIES=yes")
    for config in (path, str(path)):
        app = create_app(config)
        try:
            assert app.settings.SECRET_KEY == TEST_SECRET_KEY and app.settings.DATABASE == database_url
            # One pair of surrounding quotes goes, as in a shell; "#" inside a value is part of it.
            assert app.settings.MAIL_FROM == "Example <noreply@example.org>"
            assert app.settings.SECRET_KEY_FALLBACKS == "old#key="
            assert (app.settings.SESSION_LIFETIME, app.settings.SECURE_COOKIES) == (600, True)
        finally:
            app.db.close()


def test_the_dict_wins_over_the_settings_file_which_wins_over_the_environment(database_url, tmp_path, monkeypatch):
    path = settings_file(tmp_path, f"WSGIAUTH_DATABASE={database_url}", f"WSGIAUTH_SECRET_KEY={TEST_SECRET_KEY}",
                         "WSGIAUTH_SESSION_LIFETIME=200", "WSGIAUTH_SESSION_IDLE_TIMEOUT=200")
    monkeypatch.setenv("WSGIAUTH_SETTINGS_FILE", str(path))
    for name in ("SESSION_LIFETIME", "SESSION_IDLE_TIMEOUT", "REMEMBER_LIFETIME"):
        monkeypatch.setenv("WSGIAUTH_" + name, "100")
    app = create_app({"SESSION_LIFETIME": 300})
    try:
        settings = app.settings
        assert (settings.SESSION_LIFETIME, settings.SESSION_IDLE_TIMEOUT, settings.REMEMBER_LIFETIME) == (300, 200, 100)
    finally:
        app.db.close()
    # A file given to create_app is read instead of the one the variable names.
    monkeypatch.setenv("WSGIAUTH_SETTINGS_FILE", str(tmp_path / "not-read.env"))
    app = create_app(path)
    assert app.settings.SESSION_LIFETIME == 200
    app.db.close()


@pytest.mark.parametrize("mode, lines, refused", [
    (0o644, [f"WSGIAUTH_SECRET_KEY={TEST_SECRET_KEY}"],
     "holds WSGIAUTH_SECRET_KEY but every user of this machine can read it (mode 0644): chmod o-r {path}"),
    (0o604, ["DATABASE=mysql://wsgiauth:s3cret-pw@127.0.0.1/wsgiauth", "MAIL_URL=smtps://u:mail-pw@mail.example.org"],
     "holds WSGIAUTH_DATABASE (its password), WSGIAUTH_MAIL_URL (its password) but every user of this machine "
     "can read it (mode 0604)"),
    (0o662, ["WSGIAUTH_MAIL_TIMEOUT=10"], "can be changed by every user of this machine (mode 0662): chmod o-w {path}"),
    (0o640, [f"WSGIAUTH_SECRET_KEY={TEST_SECRET_KEY}", "DATABASE=mysql://wsgiauth:s3cret-pw@127.0.0.1/wsgiauth"],
     None),
    (0o644, ["WSGIAUTH_MAIL_TIMEOUT=10", "DATABASE=mysql://wsgiauth@localhost/wsgiauth?unix_socket=/run/mysqld.sock"],
     None),
])
def test_a_settings_file_with_a_secret_must_not_be_world_readable(tmp_path, mode, lines, refused):
    path = settings_file(tmp_path, *lines, mode=mode)
    if refused is None:
        assert read_settings(path, environ={}).MAIL_TIMEOUT == 10
        return
    with pytest.raises(ConfigError) as error:
        read_settings(path, environ={})
    message = str(error.value)
    assert message.startswith(f"The settings file {path} ") and refused.format(path=path) in message
    assert TEST_SECRET_KEY not in message and "s3cret-pw" not in message and "mail-pw" not in message


@pytest.mark.parametrize("lines, message", [
    # Never echoed: a line without a setting's name may be a secret pasted on its own.
    (["WSGIAUTH_MAIL_TIMEOUT=10", "s3cret-pasted-alone"], "2: expected WSGIAUTH_NAME=value"),
    (["# base64, with its padding", "czNjcmV0LXBhc3RlZA=="], "2: expected WSGIAUTH_NAME=value"),
    (["wsgiauth_mail_timeout=10"], "1: expected WSGIAUTH_NAME=value"),
    (["", "WSGIAUTH_NOT_A_SETTING=1"], "2: WSGIAUTH_NOT_A_SETTING is not a setting"),
    (["WSGIAUTH_CLOCK=0"], "1: WSGIAUTH_CLOCK is not a setting"),
    (["WSGIAUTH_SESSION_LIFETIME=a day"], "1: WSGIAUTH_SESSION_LIFETIME must be a whole number, not 'a day'"),
    (["SECRET_KEY=s3cret-one", "#", "WSGIAUTH_SECRET_KEY=s3cret-two"],
     "3: WSGIAUTH_SECRET_KEY is given twice with different values (line 1 and line 3)"),
    (["MAIL_TIMEOUT=10", "WSGIAUTH_ENV=prod"], "2: WSGIAUTH_ENV must be development or production, not 'prod'"),
    (["MAIL_FROM=Zoë <zoe@example.org>"], "1: not UTF-8 text"),
])
def test_settings_file_errors_name_the_file_and_line(database_url, tmp_path, monkeypatch, lines, message):
    path = settings_file(tmp_path, *lines, encoding="latin-1")
    monkeypatch.setenv("WSGIAUTH_SETTINGS_FILE", str(path))
    with pytest.raises(ConfigError) as refused:
        create_app({"DATABASE": database_url, "SECRET_KEY": TEST_SECRET_KEY})
    assert str(refused.value) == f"{path}:{message}"
    assert "s3cret" not in str(refused.value) and "czNj" not in str(refused.value)


def test_a_settings_file_that_cannot_be_read_is_one_line(tmp_path):
    with pytest.raises(ConfigError) as refused:
        create_app(tmp_path / "missing.env")
    assert str(refused.value) == f"Cannot read the settings file {tmp_path / 'missing.env'}: No such file or directory"


def test_the_wsgiauth_command_reads_the_settings_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'from-file.db'}"
    env = {"WSGIAUTH_SETTINGS_FILE": str(settings_file(tmp_path, f"WSGIAUTH_DATABASE={url}")), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "wsgiauth", "migrate"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "Applied: 0000_schema_migrations" in done.stdout, done.stderr
    (tmp_path / "settings.env").chmod(0o666)
    done = subprocess.run([sys.executable, "-m", "wsgiauth", "migrate"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == (f"wsgiauth migrate: The settings file {tmp_path / 'settings.env'} can be changed by "
                           f"every user of this machine (mode 0666): chmod o-w {tmp_path / 'settings.env'}\n")
