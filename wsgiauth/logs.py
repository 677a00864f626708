"""Logging: wsgiauth's own stderr handler when nobody has configured logging, writing text or JSON lines.

WSGI servers (gunicorn, waitress, uWSGI, mod_wsgi) send a worker's stderr to their error log
but configure no Python logging for the application, so without a handler the audit trail's
INFO lines would be dropped. An operator's own logging configuration always wins.
"""

import json
import logging
import sys
import time
from datetime import datetime, timezone

# The `wsgiauth` command's format too (__main__.py).
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What audit.record passes in `extra=`: JSON lines carry them as fields of their own.
AUDIT_FIELDS = ("event", "uid", "ip", "actor")


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT lines whose time is ISO 8601 in UTC: 2025-05-30T12:00:00.123Z INFO wsgiauth.audit: ..."""

    # ASVS 5.0 16.2.2: timestamps in UTC, so the lines of servers in other
    # time zones, or either side of a daylight saving change, sort as one.
    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self):
        """Format records as TEXT_FORMAT."""
        super().__init__(TEXT_FORMAT)


class JSONFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, the audit fields when present, message."""

    def format(self, record):
        """Return the record as one line of JSON."""
        at = datetime.fromtimestamp(record.created, timezone.utc)
        entry = {"time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                 "level": record.levelname, "logger": record.name}
        entry.update((name, getattr(record, name)) for name in AUDIT_FIELDS if hasattr(record, name))
        entry["message"] = record.getMessage()
        if record.exc_info:
            # Escaped by json.dumps: the traceback stays on the record's one line.
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class StderrHandler(logging.StreamHandler):
    """The handler create_app adds; its class tells a later create_app it may reconfigure it."""

    def __init__(self):
        super().__init__(sys.stderr)


def configure(settings) -> None:
    """Send the `wsgiauth` logger to stderr at LOG_LEVEL in LOG_FORMAT, unless logging is configured already."""
    logger = logging.getLogger("wsgiauth")
    handler = next((h for h in logger.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:
        if logger.handlers or logging.getLogger().handlers:
            return  # the operator's configuration (or `wsgiauth serve`'s basicConfig) decides
        handler = StderrHandler()
        logger.addHandler(handler)
        # Not passed on to the root logger as well: waitress calls
        # logging.basicConfig() after `waitress-serve --call` has made the
        # app, and every line would then be written twice.
        logger.propagate = False
    # A second create_app in the process reconfigures this one handler.
    json_lines = settings.LOG_FORMAT.lower() == "json"
    handler.setFormatter(JSONFormatter() if json_lines else TextFormatter())
    logger.setLevel(settings.LOG_LEVEL.upper())
