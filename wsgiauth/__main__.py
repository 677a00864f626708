"""Command line: `python -m wsgiauth migrate`, `python -m wsgiauth benchmark` (and later, other operator commands)."""

import argparse
import logging
import os
import sys

from .benchmark import runner
from .config import Settings
from .db import Database
from .migrations import migrate


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


def main(argv=None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m wsgiauth", description="wsgiauth operator commands")
    commands = parser.add_subparsers(dest="command", required=True)
    migrate_parser = commands.add_parser("migrate", help="apply pending schema migrations")
    migrate_parser.add_argument("--database", help="database URL (default: WSGIAUTH_DATABASE)")
    migrate_parser.set_defaults(run=cmd_migrate)
    bench_parser = commands.add_parser("benchmark", help="measure requests/s under gunicorn and wrk (see README)")
    runner.add_arguments(bench_parser)
    bench_parser.set_defaults(run=runner.main)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
