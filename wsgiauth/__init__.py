"""wsgiauth: user accounts for the web as a small raw-WSGI application."""

from . import logs
from .app import WSGIAuth
from .config import ConfigError, load_settings
from .db import Database, DatabaseUnavailable
from .gate import Gate
from .migrations import SchemaBehind, check_current

__all__ = ["create_app", "gate", "ConfigError", "DatabaseUnavailable", "Gate", "SchemaBehind", "WSGIAuth"]


def create_app(config=None):
    """Return the WSGI application configured from `config`, a settings file and WSGIAUTH_* variables.

    `config` is a dict (NAME or WSGIAUTH_NAME keys) or the path of a settings file; each
    setting comes from the dict, else the settings file (that path, else
    WSGIAUTH_SETTINGS_FILE), else the environment. Raises ConfigError, DatabaseUnavailable or
    SchemaBehind, each with a one-line message.
    """
    settings = load_settings(config)
    logs.configure(settings)
    db = Database(settings.DATABASE, pool_size=settings.DB_POOL_SIZE)
    # Refuse to serve against an older schema: better a clear message at
    # start-up than a 500 on the first request that touches a new column.
    check_current(db)
    return WSGIAuth(settings, db)


def gate(host, config=None, *, mount="/accounts", protect=(), groups=None):
    """Return a WSGI app: wsgiauth under `mount`, the host app everywhere else, told who is signed in (gate.py).

    protect lists the paths that need a signed-in user; groups maps paths to the group whose
    members alone may open them, e.g. {"/finance": "finance"}.
    """
    return Gate(host, create_app(config), mount, protect, groups)
