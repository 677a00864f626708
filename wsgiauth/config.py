"""Settings: one typed object built from a dict, else from WSGIAUTH_* environment variables."""

import dataclasses
import os
import time
from typing import Callable, Optional
from urllib.parse import urlsplit

from .redirects import origin_of

ENV_PREFIX = "WSGIAUTH_"

# OWASP Password Storage Cheat Sheet: scrypt with N=2^15, r=8 and p=3 is one
# of its listed equivalent settings. Werkzeug's own default (p=1) is weaker.
DEFAULT_PASSWORD_METHOD = "scrypt:32768:8:3"
# Production refuses shorter secret keys: 32 bytes = 256 bits for the HMAC.
MIN_SECRET_BYTES = 32
GENERATE_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


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
    # Production mode (WSGIAUTH_ENV=production) refuses to start with settings
    # that are only acceptable on a developer's machine (see check_production).
    ENV: str = "development"
    # Production normally runs on MySQL/MariaDB; 1 accepts SQLite there too.
    ALLOW_SQLITE_IN_PRODUCTION: bool = False
    # Old secret keys, comma-separated: cookies and tokens signed with them
    # are still accepted while everything new is signed with SECRET_KEY.
    SECRET_KEY_FALLBACKS: str = ""
    # Session lifetimes in seconds; the README justifies each default.
    # Without "Keep me signed in": at most 12 hours, and 2 hours unused.
    SESSION_LIFETIME: int = 12 * 60 * 60
    SESSION_IDLE_TIMEOUT: int = 2 * 60 * 60
    # With "Keep me signed in": at most 30 days (ASVS 3.3.2's Level 1
    # ceiling), and 7 days unused.
    REMEMBER_LIFETIME: int = 30 * 24 * 60 * 60
    REMEMBER_IDLE_TIMEOUT: int = 7 * 24 * 60 * 60
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
    # Forward authentication (GET /auth/verify, README): the origins of the
    # applications a reverse proxy protects with wsgiauth, comma-separated
    # (https://app.example.org, http://example.org:8080). Only there, and on
    # our own pages, may the browser be sent after sign-in.
    FORWARD_AUTH_HOSTS: str = ""
    # Refuse to sign in accounts whose email address is not confirmed yet.
    REQUIRE_CONFIRMED_EMAIL: bool = False
    # Test hook: the clock every expiry decision reads (seconds since epoch).
    CLOCK: Callable[[], float] = time.time

    def now(self) -> int:
        """Return the time in whole seconds from CLOCK: the app's one clock, handed to whatever needs it."""
        return int(self.CLOCK())

    @property
    def signing_keys(self) -> list:
        """Return every key that may verify a signature, the one that signs last."""
        # itsdangerous signs with the last key of a list and verifies with
        # any of them: rotating the key does not sign everybody out at once.
        fallbacks = [key.strip() for key in self.SECRET_KEY_FALLBACKS.split(",") if key.strip()]
        return fallbacks + [self.SECRET_KEY]

    @property
    def forward_auth_origins(self) -> frozenset:
        """Return the origins FORWARD_AUTH_HOSTS lists, written as redirects.origin_of writes them."""
        return frozenset(origin_of(host.strip().rstrip("/")) for host in self.FORWARD_AUTH_HOSTS.split(",")
                         if host.strip())


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
            f"`{GENERATE_KEY}` (serve.py makes and keeps one in instance/ for development)."
        )
    check_values(settings)
    if settings.ENV == "production":
        check_production(settings)
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


def check_values(settings: Settings) -> None:
    """Refuse settings that make no sense whatever the environment."""
    if settings.ENV not in ("development", "production"):
        # A typo such as "prod" must not silently mean "development".
        raise ConfigError(f"{ENV_PREFIX}ENV must be development or production, not {settings.ENV!r}")
    for name in ("SESSION_LIFETIME", "SESSION_IDLE_TIMEOUT", "REMEMBER_LIFETIME", "REMEMBER_IDLE_TIMEOUT"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{ENV_PREFIX}{name} must be a positive number of seconds")
    check_base_url(settings.BASE_URL)
    check_forward_auth_hosts(settings)


def check_production(settings: Settings) -> None:
    """Refuse to start in production with settings that are only safe on a laptop; say each reason."""
    problems = []
    # One signed cookie lets an attacker test guesses of the key offline, so
    # the HMAC-SHA256 key needs its full 256 bits of randomness.
    for key in settings.signing_keys:
        if len(key.encode("utf-8")) < MIN_SECRET_BYTES:
            which = "SECRET_KEY" if key == settings.SECRET_KEY else "SECRET_KEY_FALLBACKS (one of its keys)"
            problems.append(f"{ENV_PREFIX}{which} is {len(key.encode('utf-8'))} bytes; production needs "
                            f"at least {MIN_SECRET_BYTES} random bytes (`{GENERATE_KEY}`)")
    if settings.DATABASE.startswith("sqlite:") and not settings.ALLOW_SQLITE_IN_PRODUCTION:
        problems.append(f"{ENV_PREFIX}DATABASE is SQLite; production expects MySQL/MariaDB "
                        f"(set {ENV_PREFIX}ALLOW_SQLITE_IN_PRODUCTION=1 to run on SQLite anyway)")
    if not settings.SECURE_COOKIES:
        # ASVS 3.4.1: a session cookie without Secure travels in clear text.
        problems.append(f"{ENV_PREFIX}SECURE_COOKIES is off; production must be served over HTTPS "
                        f"with {ENV_PREFIX}SECURE_COOKIES=1")
    if problems:
        raise ConfigError("Refusing to start with WSGIAUTH_ENV=production: " + "; ".join(problems) + ".")


def is_http_address(url: str, path_allowed: bool) -> bool:
    """Say whether url is a plain http(s)://host[:port], followed by a path only if path_allowed."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port that is no number
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.query and not parts.fragment
            and "@" not in parts.netloc and (path_allowed or parts.path in ("", "/")))


def check_base_url(url: str) -> None:
    """Refuse a BASE_URL that is not a plain http(s)://host[:port][/path]."""
    if url and not is_http_address(url, path_allowed=True):
        raise ConfigError(f"{ENV_PREFIX}BASE_URL must look like https://example.org or "
                          f"https://example.org/accounts, not {url!r}")


def check_forward_auth_hosts(settings: Settings) -> None:
    """Refuse FORWARD_AUTH_HOSTS entries that are not plain origins, or the setting without BASE_URL."""
    for host in settings.FORWARD_AUTH_HOSTS.split(","):
        if host.strip() and not is_http_address(host.strip(), path_allowed=False):
            raise ConfigError(f"{ENV_PREFIX}FORWARD_AUTH_HOSTS must list origins such as https://app.example.org "
                              f"or http://example.org:8080, comma-separated, not {host.strip()!r}")
    if settings.FORWARD_AUTH_HOSTS.strip() and not settings.BASE_URL:
        # The sign-in page /auth/verify sends browsers to must be a fixed
        # address, never one built from the headers of the request.
        raise ConfigError(f"{ENV_PREFIX}FORWARD_AUTH_HOSTS needs {ENV_PREFIX}BASE_URL: the address of the "
                          f"sign-in page the proxies send browsers to")
