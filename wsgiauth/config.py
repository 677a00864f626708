"""Settings: one typed object built from a dict, a settings file and WSGIAUTH_* environment variables."""

import dataclasses
import os
import re
import stat
import time
from typing import Callable, Optional
from urllib.parse import urlsplit

from .redirects import origin_of
from .totp import DRIFT_CHOICES

ENV_PREFIX = "WSGIAUTH_"
# Names the settings file to read when create_app() is not given one.
SETTINGS_FILE = ENV_PREFIX + "SETTINGS_FILE"
# What a line of a settings file may name: NAME or WSGIAUTH_NAME, in capitals.
# Anything else is not echoed in the error, in case it is a pasted secret.
SETTING_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")

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
    # Confirm access ("sudo mode", views/access.py): sensitive changes need
    # the password typed within this many minutes in this session (signing
    # in counts). 10, as GitHub's and Clerk's: long enough for a page of
    # settings, short enough that an unlocked computer left behind is not
    # an open account for the rest of the session.
    CONFIRM_ACCESS_MINUTES: int = 10
    # ASVS 5.0 7.1.2: the most live sessions one account may have. A sign-in
    # beyond it ends the account's least recently used session (never
    # refuses the sign-in: that would let anyone who knows the password, or
    # a script, lock the owner out). 50 is far above a person's browsers and
    # devices, yet bounds the rows a script signing in again and again makes.
    MAX_SESSIONS: int = 50
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
    # The site's name where other programs show it: the account's entry in
    # an authenticator app ("wsgiauth: ada@example.com").
    SITE_NAME: str = "wsgiauth"
    # Forward authentication (GET /auth/verify, README): the origins of the
    # applications a reverse proxy protects with wsgiauth, comma-separated
    # (https://app.example.org, http://example.org:8080). Only there, and on
    # our own pages, may the browser be sent after sign-in.
    FORWARD_AUTH_HOSTS: str = ""
    # Check new passwords against the Pwned Passwords range API at this
    # address (https://api.pwnedpasswords.com); empty: no check (passwords.py).
    PWNED_PASSWORDS_URL: str = ""
    # Refuse to sign in accounts whose email address is not confirmed yet.
    REQUIRE_CONFIRMED_EMAIL: bool = False
    # Words of this site refused in new passwords besides SITE_NAME, the host
    # of BASE_URL and "wsgiauth" (ASVS 5.0 6.1.2, 6.2.11; forms.py),
    # comma-separated: the organisation's or product's names.
    PASSWORD_CONTEXT_WORDS: str = ""
    # Authenticator app codes accepted this many 30 s steps either side of
    # now. 0 (ASVS 5.0 6.5.5: a TOTP lives at most 30 s); 1 is RFC 6238's
    # tolerance for a phone's clock, a documented deviation (SECURITY.md).
    TOTP_DRIFT: int = 0
    # Who must have a second factor (ASVS 5.0 6.3.3): "" nobody (optional),
    # "*" everyone, or group names, comma-separated ("admin"). An account in
    # scope without one reaches only the pages that set one up (app.py).
    REQUIRE_SECOND_FACTOR: str = ""
    # How many days `wsgiauth cleanup` keeps security events (the audit
    # trail, a deleted account's included) and delivered mail's rows, and
    # Contact messages; 0 keeps them for ever. 400 days: the year of audit history PCI DSS 10.5.1
    # asks for, plus a month so a yearly review still finds the whole year;
    # past that, personal data is not kept "just in case" (ASVS 5.0 14.2.4,
    # SECURITY.md "Keys, hashes and data").
    AUDIT_RETENTION_DAYS: int = 400
    CONTACT_RETENTION_DAYS: int = 400
    # What wsgiauth's own stderr handler lets through, and how it writes each
    # line (text, or one JSON object a line); see logs.py. An operator's own
    # logging configuration replaces both.
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: str = "text"
    # Test hook: the clock every expiry decision reads (seconds since epoch).
    CLOCK: Callable[[], float] = time.time

    @property
    def second_factor_groups(self):
        """Return None (second factor optional), "*" (everyone) or the frozenset of groups that need one."""
        if self.REQUIRE_SECOND_FACTOR.strip() == "*":
            return "*"
        groups = frozenset(name.strip() for name in self.REQUIRE_SECOND_FACTOR.split(",") if name.strip())
        return groups or None

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


def _parse(field: dataclasses.Field, raw: str, where: str = ""):
    """Turn one environment or settings-file string into the field's type; `where` starts any error."""
    if field.type is bool or field.type == "bool":
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where}{ENV_PREFIX}{field.name} must be 1 or 0, not {raw!r}")
    if field.type is int or field.type == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{where}{ENV_PREFIX}{field.name} must be a whole number, not {raw!r}") from None
    return raw


def setting_name(key: str) -> str:
    """Return the setting a dict key or file line names: SECRET_KEY for WSGIAUTH_SECRET_KEY too."""
    return key[len(ENV_PREFIX):] if key.startswith(ENV_PREFIX) else key


def _once_each(entries, describe) -> dict:
    """Return {name: (value, where)}; a setting given twice (two spellings, two lines) must have one value."""
    # Two different values for one setting are a mistake, and neither
    # "first wins" nor "last wins" is what the operator meant.
    found = {}
    for name, value, where, label in entries:
        if name in found and found[name][0] != value:
            raise ConfigError(f"{where}{ENV_PREFIX}{name} is given twice with different values "
                              f"({describe(found[name][2], label)})")
        found.setdefault(name, (value, where, label))
    return {name: (value, where) for name, (value, where, _) in found.items()}


def _from_dict(config: dict, fields: dict) -> dict:
    """Return {name: (value, "")} from a settings dict keyed by NAME or WSGIAUTH_NAME."""
    unknown = [key for key in config if setting_name(key) not in fields]
    if unknown:
        raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}")
    entries = []
    for key, raw in config.items():
        field = fields[setting_name(key)]
        # A string is read as the environment would read it: with the
        # WSGIAUTH_ names, {"WSGIAUTH_SECURE_COOKIES": "0"} means off.
        value = _parse(field, raw) if isinstance(raw, str) else raw
        entries.append((field.name, value, "", key))
    return _once_each(entries, lambda first, second: f"as {first} and as {second}")


def read_settings_file(path, fields: dict) -> dict:
    """Return {name: (value, "path:line: ")} from a file of WSGIAUTH_NAME=value lines; refuse unsafe modes."""
    try:
        with open(path, "rb") as file:
            # The mode of the file that was read, not of whatever is at
            # that path a moment later.
            mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
            lines = file.read().splitlines()
    except OSError as error:
        raise ConfigError(f"Cannot read the settings file {path}: {error.strerror}") from None
    entries = []
    for number, raw in enumerate(lines, 1):
        where = f"{path}:{number}: "
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ConfigError(f"{where}not UTF-8 text") from None
        if not line or line.startswith("#"):
            continue
        key, equals, value = (part.strip() for part in line.partition("="))
        if not equals or not SETTING_NAME.fullmatch(key):
            # Not echoed: a line without a name may be a secret pasted alone.
            raise ConfigError(f"{where}expected WSGIAUTH_NAME=value")
        if setting_name(key) not in fields or setting_name(key) == "CLOCK":
            raise ConfigError(f"{where}{key} is not a setting")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]  # as a shell or systemd's EnvironmentFile= would read it
        field = fields[setting_name(key)]
        entries.append((field.name, _parse(field, value, where), where, f"line {number}"))
    found = _once_each(entries, lambda first, second: f"{first} and {second}")
    check_file_mode(path, mode, {name: value for name, (value, _) in found.items()})
    return found


def _has_password(url: str) -> bool:
    """Return whether a database or mail URL carries a password."""
    try:
        return bool(urlsplit(url).password)
    except ValueError:  # malformed: assume the worst; the URL's own check says what is wrong
        return True


def check_file_mode(path, mode: int, values: dict) -> None:
    """Refuse a settings file every local user may change, or read when it holds a secret."""
    if os.name != "posix":
        return  # these mode bits mean nothing elsewhere
    # Whoever can write the file chooses the secret key (and so signs in as
    # anyone) or where the mail goes: never acceptable.
    if mode & stat.S_IWOTH:
        raise ConfigError(f"The settings file {path} can be changed by every user of this machine "
                          f"(mode {mode:04o}): chmod o-w {path}")
    held = [ENV_PREFIX + name for name in ("SECRET_KEY", "SECRET_KEY_FALLBACKS") if values.get(name)]
    held += [ENV_PREFIX + name + " (its password)" for name in ("DATABASE", "MAIL_URL")
             if values.get(name) and _has_password(values[name])]
    # Refused, not warned about: a warning scrolls past in a log, while the
    # secret key lets whoever reads it forge a session for every account.
    if held and mode & stat.S_IROTH:
        raise ConfigError(f"The settings file {path} holds {', '.join(held)} but every user of this machine "
                          f"can read it (mode {mode:04o}): chmod o-r {path}, e.g. mode 0640 with the "
                          f"server's group")


def _gather(config, environ) -> tuple:
    """Return ({name: value}, {name: "path:line: " or ""}): the dict, else the settings file, else the environment."""
    environ = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    if isinstance(config, (str, os.PathLike)):
        path, config = config, {}
    else:
        path = environ.get(SETTINGS_FILE) or None
    # Lowest precedence first. CLOCK is a function: no text can give it.
    found = {name: (_parse(field, environ[ENV_PREFIX + name]), "") for name, field in fields.items()
             if ENV_PREFIX + name in environ and name != "CLOCK"}
    if path:
        found.update(read_settings_file(path, fields))
    found.update(_from_dict(dict(config or {}), fields))
    return ({name: value for name, (value, _) in found.items()},
            {name: where for name, (_, where) in found.items()})


def read_settings(config=None, environ=None) -> Settings:
    """Build Settings: each from the dict, else the settings file, else the environment (README: Configuration)."""
    return Settings(**_gather(config, environ)[0])


def load_settings(config=None, environ=None) -> Settings:
    """Build and check the Settings the web application needs."""
    values, origin = _gather(config, environ)
    settings = Settings(**values)
    if not settings.SECRET_KEY:
        raise ConfigError(
            f"{ENV_PREFIX}SECRET_KEY is not set. Generate one with "
            f"`{GENERATE_KEY}` (serve.py makes and keeps one in instance/ for development)."
        )
    check_values(settings, origin)
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


def check_values(settings: Settings, origin: Optional[dict] = None) -> None:
    """Refuse settings that make no sense whatever the environment; name the file and line that gave one."""
    for name, problem in _nonsense(settings):
        raise ConfigError((origin or {}).get(name, "") + f"{ENV_PREFIX}{name} {problem}")


def _nonsense(settings: Settings):
    """Yield (name, what is wrong) for each setting whose value makes no sense on its own."""
    if settings.ENV not in ("development", "production"):
        # A typo such as "prod" must not silently mean "development".
        yield "ENV", f"must be development or production, not {settings.ENV!r}"
    for name in ("SESSION_LIFETIME", "SESSION_IDLE_TIMEOUT", "REMEMBER_LIFETIME", "REMEMBER_IDLE_TIMEOUT"):
        if getattr(settings, name) <= 0:
            yield name, "must be a positive number of seconds"
    for name in ("AUDIT_RETENTION_DAYS", "CONTACT_RETENTION_DAYS"):
        if getattr(settings, name) < 0:
            yield name, "must be a number of days, or 0 to keep everything"
    if settings.CONFIRM_ACCESS_MINUTES <= 0:
        # 0 would ask before every change, even right after signing in.
        yield "CONFIRM_ACCESS_MINUTES", "must be a positive number of minutes"
    if settings.TOTP_DRIFT not in DRIFT_CHOICES:
        # More than one step would keep a code alive for minutes.
        yield "TOTP_DRIFT", f"must be 0 (ASVS 5.0) or 1 (RFC 6238's drift), not {settings.TOTP_DRIFT!r}"
    if settings.MAX_SESSIONS <= 0:
        yield "MAX_SESSIONS", "must be a positive number of sessions"
    if settings.LOG_LEVEL.upper() not in LOG_LEVELS:
        yield "LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}, not {settings.LOG_LEVEL!r}"
    if settings.LOG_FORMAT.lower() not in LOG_FORMATS:
        yield "LOG_FORMAT", f"must be text or json, not {settings.LOG_FORMAT!r}"
    if settings.BASE_URL and not is_http_address(settings.BASE_URL, path_allowed=True):
        yield "BASE_URL", f"must look like https://example.org or https://example.org/accounts, " \
                          f"not {settings.BASE_URL!r}"
    if settings.PWNED_PASSWORDS_URL and not is_http_address(settings.PWNED_PASSWORDS_URL, path_allowed=True):
        yield "PWNED_PASSWORDS_URL", f"must look like https://api.pwnedpasswords.com, " \
                                     f"not {settings.PWNED_PASSWORDS_URL!r}"
    yield from check_forward_auth_hosts(settings)


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


def check_forward_auth_hosts(settings: Settings):
    """Yield (name, problem) for entries that are not plain origins, and for the setting without BASE_URL."""
    for host in settings.FORWARD_AUTH_HOSTS.split(","):
        if host.strip() and not is_http_address(host.strip(), path_allowed=False):
            yield "FORWARD_AUTH_HOSTS", (f"must list origins such as https://app.example.org or "
                                         f"http://example.org:8080, comma-separated, not {host.strip()!r}")
    if settings.FORWARD_AUTH_HOSTS.strip() and not settings.BASE_URL:
        # The sign-in page /auth/verify sends browsers to must be a fixed
        # address, never one built from the headers of the request.
        yield "FORWARD_AUTH_HOSTS", (f"needs {ENV_PREFIX}BASE_URL: the address of the sign-in page the "
                                     f"proxies send browsers to")
