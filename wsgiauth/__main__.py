"""Command line: `python -m wsgiauth migrate`, `deliver-mail` and `benchmark`."""

import argparse
import logging
import os
import sys
import time

from .benchmark import runner
from .config import ConfigError, Settings, read_settings
from .db import Database
from .migrations import SchemaBehind, check_current, migrate
from .outbox import Outbox


def database_url(args) -> str:
    """Return the database URL from --database, WSGIAUTH_DATABASE or the default."""
    return args.database or os.environ.get("WSGIAUTH_DATABASE") or Settings.DATABASE


def cmd_migrate(args) -> int:
    """Apply pending schema migrations and say which."""
    db = Database(database_url(args))
    applied = migrate(db)
    db.close()
    if applied:
        print("Applied: " + ", ".join(applied))
    else:
        print("The database schema is up to date.")
    return 0


def cmd_deliver_mail(args) -> int:
    """Send the pending mail that is due; print what was sent and what failed."""
    overrides = {"DATABASE": args.database} if args.database else {}
    try:
        # Only the database and mail settings matter here: no secret key needed.
        settings = read_settings(overrides)
        db = Database(settings.DATABASE)
        outbox = Outbox(db, settings, settings.now)
    except (ConfigError, ValueError) as error:  # ValueError: a malformed WSGIAUTH_DATABASE
        print(f"deliver-mail: {error}", file=sys.stderr)
        return 2
    try:
        check_current(db)
        report = outbox.deliver_due(retry_now=args.now)
        waiting, next_at = outbox.waiting()
    except SchemaBehind as error:
        print(f"deliver-mail: {error}", file=sys.stderr)
        return 2
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


def main(argv=None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m wsgiauth", description="wsgiauth operator commands")
    commands = parser.add_subparsers(dest="command", required=True)
    migrate_parser = commands.add_parser("migrate", help="apply pending schema migrations")
    migrate_parser.add_argument("--database", help="database URL (default: WSGIAUTH_DATABASE)")
    migrate_parser.set_defaults(run=cmd_migrate)
    mail_parser = commands.add_parser("deliver-mail", help="send pending mail from the outbox (run it from cron)")
    mail_parser.add_argument("--database", help="database URL (default: WSGIAUTH_DATABASE)")
    mail_parser.add_argument("--now", action="store_true",
                             help="also retry messages still waiting out their retry delay")
    mail_parser.set_defaults(run=cmd_deliver_mail)
    bench_parser = commands.add_parser("benchmark", help="measure requests/s under gunicorn and wrk (see README)")
    runner.add_arguments(bench_parser)
    bench_parser.set_defaults(run=runner.main)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
