"""Numbered schema migrations kept in sql/migrations/, applied in order and recorded."""

import logging
import re
import time

from .accounts import name_key
from .forms import canonical_email
from .mailer import address
from .queries import SQL_DIR

log = logging.getLogger("wsgiauth.migrations")

MIGRATIONS_DIR = SQL_DIR / "migrations"
# 0001_users_and_sessions.sql, or .sqlite.sql / .mysql.sql where dialects differ.
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|mysql))?\.sql$")


class SchemaBehind(Exception):
    """The database lacks migrations this code needs."""


def available(dialect: str, directory=MIGRATIONS_DIR) -> list:
    """List (version, name, path) for this dialect, a dialect's own file winning."""
    chosen = {}
    for path in sorted(directory.iterdir(), key=lambda p: p.name):
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
        return {row["version"] for row in db.all("applied_migrations")}
    except db.driver_errors:
        # No schema_migrations table yet: a brand-new database.
        return set()


def pending(db) -> list:
    """Return the migrations not yet applied, oldest first."""
    done = applied(db)
    return [m for m in available(db.dialect) if m[0] not in done]


# Accounts are read this many at a time by a data step (a million users
# never sit in memory at once).
BATCH = 1000


def delivered_to(stored: str):
    """Return the canonical form of the mailbox that mail for a stored address really went to, or None."""
    # The mail module wrote "(x)victim@example.com" and '"victim"@example.com'
    # as victim@example.com; the email package raises all sorts of errors on
    # odd input (finding 4 of the review), none of which may stop a migration.
    try:
        return canonical_email(address("", stored))
    except Exception:  # noqa: BLE001 - legacy data, any parser error means "no plain address"
        return None


def plain_addresses(tx) -> dict:
    """Give every account whose address is not canonical its plain form, or park it; return the counts."""
    # Before issue 11 the address check accepted RFC 5322 comments and
    # needless quotes, so one mailbox could hold several accounts. Such rows
    # exist only where someone typed those forms: on a normal site none.
    #   - moved: the plain form is free, so the account gets it, unconfirmed
    #     (whoever confirmed the odd form may not own the mailbox) and signed
    #     out everywhere; its owner can sign in with the plain address or
    #     reset the password through it.
    #   - parked: another account (older, or already plain) has that mailbox.
    #     The address becomes parked-<uid>@wsgiauth.invalid, a name no mail
    #     can reach (RFC 6761), the sessions end, and nothing is deleted.
    # A pending email change to an odd address is dropped (its link dies).
    counts = {"moved": 0, "parked": 0, "pending_dropped": 0}
    after = 0
    while True:
        rows = tx.all("users_after", after=after, limit=BATCH)
        if not rows:
            return counts
        after = rows[-1]["uid"]
        for row in rows:
            if canonical_email(row["email"]) != row["email"]:
                target = delivered_to(row["email"])
                if target is None or tx.one("user_uid_by_email", email=target):
                    target, kind = f"parked-{row['uid']}@wsgiauth.invalid", "parked"
                else:
                    kind = "moved"
                tx.run("replace_email", uid=row["uid"], email=target)
                tx.run("delete_user_sessions", uid=row["uid"])
                counts[kind] += 1
            elif row["pending_email"] and canonical_email(row["pending_email"]) != row["pending_email"]:
                tx.run("clear_pending_email", uid=row["uid"])
                counts["pending_dropped"] += 1


def name_keys(tx) -> dict:
    """Fill users.name_key, which the admin area's name search reads, for every existing account."""
    # Python's str.lower, as accounts.name_key writes it for new names:
    # SQL's LOWER would leave SQLite's non-ASCII capitals as they are.
    after = 0
    while True:
        rows = tx.all("users_names_after", after=after, limit=BATCH)
        if not rows:
            return {}
        after = rows[-1]["uid"]
        for row in rows:
            tx.run("update_name_key", uid=row["uid"], name_key=name_key(row["firstname"], row["lastname"]))


# Work a migration's SQL cannot do, run after it in the same transaction,
# by version. Written out here; nothing registers itself.
DATA_STEPS = {6: plain_addresses, 12: name_keys}


def migrate(db, clock=time.time) -> list:
    """Apply every pending migration, each in its own transaction; return their names."""
    names = []
    for version, name, path in pending(db):
        # MySQL commits each CREATE/ALTER by itself, so a failure part-way
        # leaves earlier statements applied; migrations are written to be
        # small for that reason, and never run twice by a retry (attempts=1).
        def apply(tx, version=version, name=name, path=path):
            """Run the migration's SQL and data step, and record it."""
            tx.script(path.read_text(encoding="utf-8"))
            counts = DATA_STEPS[version](tx) if version in DATA_STEPS else {}
            if any(counts.values()):
                tx.after_commit.append(lambda: log.warning("migration %04d_%s changed accounts: %s",
                                                           version, name, counts))
            tx.run("record_migration", version=version, name=name, applied_at=int(clock()))

        db.transaction(apply, attempts=1)
        names.append(f"{version:04d}_{name}")
    return names


def check_current(db) -> None:
    """Refuse to run code against an older schema, naming the command that fixes it."""
    missing = pending(db)
    if missing:
        names = ", ".join(f"{v:04d}_{n}" for v, n, _ in missing)
        raise SchemaBehind(
            f"The database schema is behind: {len(missing)} migration(s) not applied ({names}). "
            "Run `wsgiauth migrate` or `python -m wsgiauth migrate` (with the same WSGIAUTH_DATABASE) first."
        )
