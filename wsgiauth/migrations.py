"""Numbered schema migrations kept in sql/migrations/, applied in order and recorded."""

import re
import time
from pathlib import Path

from .queries import SQL_DIR

MIGRATIONS_DIR = SQL_DIR / "migrations"
# 0001_users_and_sessions.sql, or .sqlite.sql / .mysql.sql where dialects differ.
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|mysql))?\.sql$")


class SchemaBehind(Exception):
    """The database lacks migrations this code needs."""


def available(dialect: str, directory: Path = MIGRATIONS_DIR) -> list:
    """List (version, name, path) for this dialect, a dialect's own file winning."""
    chosen = {}
    for path in sorted(directory.iterdir()):
        match = _FILE.match(path.name)
        if not match or match.group(3) not in (None, dialect):
            continue
        version, name, own = int(match.group(1)), match.group(2), match.group(3)
        if version not in chosen or own:
            chosen[version] = (version, name, path)
    return [chosen[v] for v in sorted(chosen)]


def applied(db) -> set:
    """Return the versions recorded as applied (none if the table is missing)."""
    try:
        with db.transaction() as tx:
            return {row["version"] for row in tx.all("applied_migrations")}
    except db.driver_errors:
        # No schema_migrations table yet: a brand-new database.
        return set()


def pending(db) -> list:
    """Return the migrations not yet applied, oldest first."""
    done = applied(db)
    return [m for m in available(db.dialect) if m[0] not in done]


def migrate(db, clock=time.time) -> list:
    """Apply every pending migration, each in its own transaction; return their names."""
    names = []
    for version, name, path in pending(db):
        # MySQL commits each CREATE/ALTER by itself, so a failure part-way
        # leaves earlier statements applied; migrations are written to be
        # small for that reason.
        with db.transaction() as tx:
            tx.script(path.read_text(encoding="utf-8"))
            tx.run("record_migration", version=version, name=name, applied_at=int(clock()))
        names.append(f"{version:04d}_{name}")
    return names


def check_current(db) -> None:
    """Refuse to run code against an older schema, naming the command that fixes it."""
    missing = pending(db)
    if missing:
        names = ", ".join(f"{v:04d}_{n}" for v, n, _ in missing)
        raise SchemaBehind(
            f"The database schema is behind: {len(missing)} migration(s) not applied ({names}). "
            "Run `python -m wsgiauth migrate` (with the same WSGIAUTH_DATABASE) first."
        )
