"""The `wsgiauth` command (also `python -m wsgiauth`): serve, migrate, deliver-mail, cleanup, create-user."""

import argparse
import getpass
import logging
import sys
import time

from .accounts import name_key
from .cleanup import cleanup
from .config import ConfigError, Settings, read_settings
from .db import Database, DatabaseUnavailable, IntegrityError
from .forms import validate_signup
from .logs import TEXT_FORMAT
from .migrations import SchemaBehind, check_current, migrate
from .outbox import Outbox
from .passwords import Passwords, load_common


class CommandError(Exception):
    """Something the operator can fix; said in one line, without a traceback."""


def command_settings(args) -> Settings:
    """Return the settings a command runs with: --database over the app's own (README: Configuration)."""
    # read_settings, not load_settings: these commands need no secret key.
    return read_settings({"DATABASE": args.database} if args.database else {})


def open_database(settings: Settings, timeouts=None) -> Database:
    """Open the settings' database."""
    try:
        return Database(settings.DATABASE, timeouts=timeouts)
    except ValueError as error:  # a malformed URL
        raise CommandError(str(error)) from None


def cmd_serve(args) -> int:
    """Run the development server (instance/ in the working directory, SQLite by default)."""
    from .devserver import serve  # Werkzeug's server only for this command

    serve(args.host, args.port)
    return 0


def cmd_migrate(args) -> int:
    """Apply pending schema migrations and say which."""
    # An ALTER TABLE on a big table may run for minutes (and on Galera it
    # holds the whole cluster while it does): a request's 10 s would cut it off.
    db = open_database(command_settings(args), timeouts={"read_timeout": 3600, "write_timeout": 3600})
    try:
        applied = migrate(db)
    finally:
        db.close()
    print("Applied: " + ", ".join(applied) if applied else "The database schema is up to date.")
    return 0


def cmd_deliver_mail(args) -> int:
    """Send the pending mail that is due; print what was sent and what failed."""
    settings = command_settings(args)
    db = open_database(settings)
    try:
        outbox = Outbox(db, settings, settings.now)
        check_current(db)
        report = outbox.deliver_due(retry_now=args.now)
        waiting, next_at = outbox.waiting()
    finally:
        db.close()
    print_report(report, waiting, next_at, outbox.backend.describe())
    return 1 if report.failed or report.not_tried else 0


def print_report(report, waiting, next_at, backend) -> None:
    """Print one line per message sent or failed, then a summary (ids and domains only)."""
    for mail_id, domain in report.sent:
        print(f"Sent #{mail_id} to a recipient at {domain}")
    for mail_id, domain, attempts, error, next_attempt_at in report.failed:
        print(f"Failed #{mail_id} to a recipient at {domain} (attempt {attempts}, "
              f"next try after {utc(next_attempt_at)}): {error}")
    if report.not_tried:
        print(f"Not tried: {len(report.not_tried)} message(s), the mail server is unusable right now")
    print(f"Sent {len(report.sent)}, failed {len(report.failed)}, not tried {len(report.not_tried)}; "
          + (f"{waiting} waiting to be retried (next after {utc(next_at)})" if waiting else "none waiting")
          + f" [{backend}]")


def utc(epoch) -> str:
    """Format epoch seconds as an ISO 8601 UTC time."""
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


def read_password(args) -> str:
    """Return the new user's password: one line of stdin with --password-stdin, else asked twice without echo."""
    # Never an argument: a command line is visible to every user of the
    # machine (ps) and kept in shell history.
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise CommandError("the two passwords do not match")
    return password


def cmd_cleanup(args) -> int:
    """Delete expired sessions and old rate-limit rows in bounded batches (run it from cron)."""
    settings = command_settings(args)
    db = open_database(settings)
    try:
        check_current(db)
        counts = cleanup(db, settings)
    finally:
        db.close()
    print(f"Deleted {counts['sessions']} expired session(s), {counts['attempts']} old attempt(s) "
          f"and {counts['attempt keys']} idle rate-limit key(s).")
    return 0


def cmd_create_user(args) -> int:
    """Create an account with the sign-up rules (the password is never an argument)."""
    settings = command_settings(args)
    form = {"firstname": args.first_name, "lastname": args.last_name, "email": args.email,
            "password": read_password(args)}
    data, errors = validate_signup(form, load_common())
    if errors:
        raise CommandError("; ".join(f"{field}: {message}" for field, message in errors.items()))
    db = open_database(settings)
    try:
        check_current(db)
        pwdhash = Passwords(settings.PASSWORD_METHOD).hash(data["password"])

        def create(tx):
            """Insert the account (confirmed if the operator vouches for the address); return its uid."""
            uid = tx.insert("insert_user", firstname=data["firstname"], lastname=data["lastname"],
                            email=data["email"], pwdhash=pwdhash, created_at=settings.now(),
                            name_key=name_key(data["firstname"], data["lastname"]))
            if args.confirmed:
                tx.run("confirm_email", uid=uid, email=data["email"], now=settings.now())
            return uid

        uid = db.transaction(create)
    except IntegrityError:
        raise CommandError(f"an account with the address {data['email']} exists already") from None
    finally:
        db.close()
    print(f"Created user #{uid} <{data['email']}>" + (" (address confirmed)" if args.confirmed else ""))
    return 0


def parser() -> argparse.ArgumentParser:
    """Return the command-line parser of every command."""
    top = argparse.ArgumentParser(prog="wsgiauth", description="wsgiauth: user accounts for WSGI. "
                                  "Settings come from WSGIAUTH_* environment variables and the file "
                                  "WSGIAUTH_SETTINGS_FILE names (see the README).")
    commands = top.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the development server (SQLite under ./instance by default)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000)")
    serve.set_defaults(run=cmd_serve)
    for name, run, text in [("migrate", cmd_migrate, "apply pending schema migrations"),
                            ("deliver-mail", cmd_deliver_mail, "send pending mail from the outbox (run it from cron)"),
                            ("cleanup", cmd_cleanup, "delete expired sessions and old rate-limit rows (cron)"),
                            ("create-user", cmd_create_user, "create an account (the password is asked for)")]:
        command = commands.add_parser(name, help=text)
        command.add_argument("--database", help="database URL (default: WSGIAUTH_DATABASE)")
        command.set_defaults(run=run)
        if name == "deliver-mail":
            command.add_argument("--now", action="store_true",
                                 help="also retry messages still waiting out their retry delay")
        if name == "create-user":
            command.add_argument("email")
            command.add_argument("--first-name", required=True)
            command.add_argument("--last-name", required=True)
            command.add_argument("--password-stdin", action="store_true",
                                 help="read the password from the first line of standard input")
            command.add_argument("--confirmed", action="store_true", help="mark the email address as confirmed")
    return top


def main(argv=None) -> int:
    """Parse the command line and run the chosen command; problems an operator can fix are one line on stderr."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=TEXT_FORMAT)
    try:
        return args.run(args)
    except (CommandError, ConfigError, DatabaseUnavailable, SchemaBehind) as error:
        print(f"wsgiauth {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
