"""Configuration and start-up: settings from a dict or the environment, migrations, the default hash."""

import subprocess
import sys

import pytest
from werkzeug.test import Client

from wsgiauth import ConfigError, create_app
from wsgiauth.config import DEFAULT_PASSWORD_METHOD
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
