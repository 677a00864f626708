"""Settings: one typed object built from a dict, else from WSGIAUTH_* environment variables."""

import dataclasses
import os
import time
from typing import Callable, Optional
from urllib.parse import urlsplit

ENV_PREFIX = "WSGIAUTH_"

# OWASP Password Storage Cheat Sheet: scrypt with N=2^15, r=8 and p=3 is one
# of its listed equivalent settings. Werkzeug's own default (p=1) is weaker.
DEFAULT_PASSWORD_METHOD = "scrypt:32768:8:3"


class ConfigError(Exception):
    """A setting is missing or has a value wsgiauth cannot use."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting wsgiauth reads; the README's configuration table mirrors this."""

    # Where the data lives: sqlite:///relative/or//absolute/path.db or
    # mysql://user:password@host:port/dbname
    DATABASE: str = "sqlite:///instance/wsgiauth.db"
    # Signs cookies and tokens. No default: a default secret is a known secret.
    SECRET_KEY: str = ""
    # Send cookies only over HTTPS (turn on behind TLS in production).
    SECURE_COOKIES: bool = False
    # werkzeug.security method string used for new password hashes.
    PASSWORD_METHOD: str = DEFAULT_PASSWORD_METHOD
    # How long a signed-in session lasts on the server, in seconds.
    SESSION_LIFETIME: int = 12 * 60 * 60
    # Larger request bodies are refused with 413 before they are read.
    MAX_CONTENT_LENGTH: int = 1024 * 1024
    # How many reverse proxies in front of the app to trust for the client's
    # address (X-Forwarded-For) and scheme; 0 trusts none and uses REMOTE_ADDR.
    TRUSTED_PROXIES: int = 0
    # Idle MySQL connections kept per process.
    DB_POOL_SIZE: int = 5
    # Where outgoing mail goes: smtp://[user:pass@]host[:port][?starttls=1],
    # smtps://user:pass@host[:465], or file://folder (.eml files, for development).
    MAIL_URL: str = "file://instance/outbox"
    # The From address of every email (a visitor's address only ever goes in Reply-To).
    MAIL_FROM: str = "wsgiauth <noreply@localhost>"
    # Who receives the Contact page's messages.
    CONTACT_TO: str = "contact@localhost"
    # Seconds before a silent mail server is given up on (per network operation).
    MAIL_TIMEOUT: int = 10
    # The site's public address (https://example.org, or with a path if it is
    # mounted there): every link in an email starts with it. Unset, links
    # follow the request's Host header, which the client chooses: fine on
    # your own machine only, so real mail refuses to start without it.
    BASE_URL: str = ""
    # Refuse to sign in accounts whose email address is not confirmed yet.
    REQUIRE_CONFIRMED_EMAIL: bool = False
    # Test hook: the clock every expiry decision reads (seconds since epoch).
    CLOCK: Callable[[], float] = time.time


def _parse(field: dataclasses.Field, raw: str):
    """Turn one environment string into the field's type."""
    if field.type is bool or field.type == "bool":
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{ENV_PREFIX}{field.name} must be 1 or 0, not {raw!r}")
    if field.type is int or field.type == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{ENV_PREFIX}{field.name} must be a whole number, not {raw!r}") from None
    return raw


def read_settings(config: Optional[dict] = None, environ=None) -> Settings:
    """Build Settings: each key from `config` if given there, else from the environment."""
    config = dict(config or {})
    environ = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = set(config) - set(fields)
    if unknown:
        raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}")
    values = {}
    for name, field in fields.items():
        if name in config:
            values[name] = config[name]
        elif ENV_PREFIX + name in environ and name != "CLOCK":
            values[name] = _parse(field, environ[ENV_PREFIX + name])
    return Settings(**values)


def load_settings(config: Optional[dict] = None, environ=None) -> Settings:
    """Build and check the Settings the web application needs."""
    settings = read_settings(config, environ)
    if not settings.SECRET_KEY:
        raise ConfigError(
            f"{ENV_PREFIX}SECRET_KEY is not set. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'` "
            "(serve.py makes and keeps one in instance/ for development)."
        )
    check_base_url(settings.BASE_URL)
    if not settings.MAIL_URL.startswith("file:"):
        # Real mail with the development addresses would go nowhere useful
        # (or to a stranger's localhost): refuse to start instead. Without
        # BASE_URL, the links in reset emails would be built from the Host
        # header, and an attacker who asks for a reset of your account with
        # "Host: evil.example" would get you a real link to their site
        # (password-reset poisoning): refuse that too.
        defaults = [name for name in ("MAIL_FROM", "CONTACT_TO", "BASE_URL")
                    if getattr(settings, name) == getattr(Settings, name)]
        if defaults:
            raise ConfigError(
                f"{ENV_PREFIX}MAIL_URL sends real mail, so set "
                + " and ".join(ENV_PREFIX + name for name in defaults)
                + " (they still have their development defaults)."
            )
    return settings


def check_base_url(url: str) -> None:
    """Refuse a BASE_URL that is not a plain http(s)://host[:port][/path]."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment \
            or "@" in parts.netloc:
        raise ConfigError(f"{ENV_PREFIX}BASE_URL must look like https://example.org or "
                          f"https://example.org/accounts, not {url!r}")
