"""The `wsgiauth` command (also `python -m wsgiauth`): serve, migrate, deliver-mail, cleanup, and accounts.

The account commands (create-user, add-to-group, remove-from-group, list-admins, set-password,
lock, unlock, sign-out-everyone) are how an operator makes the first administrator and looks after
accounts from a shell; each change goes through accounts.py, like the admin area's, and into the
audit trail with no acting admin (actor_uid NULL, user agent "wsgiauth command").
"""

import argparse
import getpass
import logging
import sys
import time

from . import accounts
from .cleanup import cleanup
from .config import ConfigError, Settings, check_values, read_settings
from .db import Database, DatabaseUnavailable, IntegrityError
from .forms import check_new_password, clean_email, personal_of, validate_group, validate_signup
from .logs import TextFormatter
from .migrations import SchemaBehind, check_current, migrate
from .outbox import Outbox
from .passwords import Passwords, context_words, load_common, refuse_breached


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
    from .devserver import CannotListen, serve  # Werkzeug's server only for this command

    try:
        serve(args.host, args.port)
    except CannotListen as error:
        raise CommandError(str(error)) from None
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
    """Return the new password: one line of stdin with --password-stdin, else asked twice without echo."""
    # Never an argument: a command line is visible to every user of the
    # machine (ps) and kept in shell history.
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise CommandError("the two passwords do not match")
    return password


def cmd_cleanup(args) -> int:
    """Delete expired sessions, old rate-limit rows and records past their retention in batches (run it from cron)."""
    settings = command_settings(args)
    check_values(settings)  # a negative retention is refused here, not read as "keep"
    db = open_database(settings)
    try:
        check_current(db)
        counts = cleanup(db, settings)
    finally:
        db.close()
    print(f"Deleted {counts['sessions']} expired session(s), {counts['attempts']} old attempt(s) "
          f"and {counts['attempt keys']} idle rate-limit key(s).")
    print(f"Deleted {retention(counts['security events'], 'security event', settings.AUDIT_RETENTION_DAYS)}, "
          f"{retention(counts['sent mail'], 'sent mail', settings.AUDIT_RETENTION_DAYS)} "
          f"and {retention(counts['contact messages'], 'Contact message', settings.CONTACT_RETENTION_DAYS)}.")
    return 0


def retention(count: int, what: str, days: int) -> str:
    """Return one part of cleanup's report: how many rows of what went, past days, or that none may go."""
    return f"{count} {what}(s) older than {days} days" if days else f"no {what}s (kept without limit)"


def checked_groups(names) -> list:
    """Return the group names given with --group, checked and without repeats, or raise CommandError."""
    checked = []
    for name in names or ():
        name, errors = validate_group({"group": name})
        if errors:
            raise CommandError(errors["group"])
        if name not in checked:
            checked.append(name)
    return checked


def cmd_create_user(args) -> int:
    """Create an account with the sign-up rules, in the groups named (the password is never an argument)."""
    settings = command_settings(args)
    groups = checked_groups(args.group)
    form = {"firstname": args.first_name, "lastname": args.last_name, "email": args.email,
            "password": read_password(args)}
    data, errors = validate_signup(form, load_common(), context_words(settings))
    if refuse_breached(settings, data["password"], errors, "password"):
        raise CommandError("; ".join(f"{field}: {message}" for field, message in errors.items()))
    db = open_database(settings)
    try:
        check_current(db)
        pwdhash = Passwords(settings.PASSWORD_METHOD).hash(data["password"])

        def create(tx):
            """Insert the account (confirmed if the operator vouches for the address) and its groups; return its uid."""
            # One transaction: an admin is never left half made, an account
            # without the group it was meant to have.
            uid = tx.insert("insert_user", firstname=data["firstname"], lastname=data["lastname"],
                            email=data["email"], pwdhash=pwdhash, created_at=settings.now(),
                            name_key=accounts.name_key(data["firstname"], data["lastname"]))
            if args.confirmed:
                tx.run("confirm_email", uid=uid, email=data["email"], now=settings.now())
            for name in groups:
                accounts.add_to_group(settings, tx, None, uid, name)
            return uid

        uid = db.transaction(create)
    except IntegrityError:
        raise CommandError(f"an account with the address {data['email']} exists already") from None
    finally:
        db.close()
    print(f"Created user #{uid} <{data['email']}>" + (" (address confirmed)" if args.confirmed else "")
          + (f" in the group{'s' if len(groups) > 1 else ''} {', '.join(groups)}" if groups else ""))
    return 0


def account_of(tx, email: str) -> dict:
    """Return the account with this address, read inside tx, or raise CommandError."""
    row = tx.one("user_uid_by_email", email=clean_email(email))
    if row is None:
        raise CommandError(f"there is no account with the address {clean_email(email)}")
    return tx.one("account_by_uid", uid=row["uid"])


def on_account(args, work):
    """Run work(settings, tx, account) in one transaction on the account args.email names; print what it returns."""
    settings = command_settings(args)
    db = open_database(settings)
    try:
        check_current(db)
        print(db.transaction(lambda tx: work(settings, tx, account_of(tx, args.email))))
    except accounts.Refused as refusal:
        # The rule a command meets (it acts with no actor, so never "your
        # own account"): the last administrator who can sign in stays one.
        # With no default account (ASVS 5.0 6.3.2) nobody could make another.
        if str(refusal) != accounts.LAST_ADMIN:
            raise CommandError(str(refusal)) from None
        raise CommandError(f"refused: {clean_email(args.email)} is the last administrator who can sign in; "
                           "make someone else an administrator first (wsgiauth add-to-group EMAIL admin)") from None
    finally:
        db.close()
    return 0


# The commands that change one account through accounts.py: the change,
# what is said when it was made, and when there was nothing to change
# (running one twice is harmless, and says so).
CHANGES = {
    "add-to-group": (accounts.add_to_group, "Added {email} to the group {group}.",
                     "{email} is in the group {group} already: nothing changed."),
    "remove-from-group": (accounts.remove_from_group, "Removed {email} from the group {group}.",
                          "{email} is not in the group {group}: nothing changed."),
    "lock": (accounts.lock, "Locked {email}: it cannot sign in, and all its sessions have ended.",
             "{email} was locked already: nothing changed."),
    "unlock": (accounts.unlock, "Unlocked {email}: its owner can sign in again.",
               "{email} was not locked: nothing changed."),
}


def cmd_change(args) -> int:
    """Make the change to one account that the command names (CHANGES) and say what was done."""
    change, done, unchanged = CHANGES[args.command]
    group = checked_groups([args.group]) if "group" in args else []

    def work(settings, tx, account):
        """Make the change; say whether there was one."""
        changed = change(settings, tx, None, account["uid"], *group)
        return (done if changed else unchanged).format(email=account["email"], group="".join(group))

    return on_account(args, work)


def cmd_set_password(args) -> int:
    """Give an account a new password (the sign-up rules) and end all its sessions."""
    settings = command_settings(args)
    db = open_database(settings)
    try:
        check_current(db)
        # The address is checked before the password is asked for; the
        # account is read again in the transaction that changes it.
        account = db.transaction(lambda tx: account_of(tx, args.email))
    finally:
        db.close()
    errors = {}
    password = check_new_password(read_password(args), errors, "password", personal_of(account), load_common(),
                                  context_words(settings))
    if refuse_breached(settings, password, errors, "password"):
        raise CommandError(f"password: {errors['password']}")
    pwdhash = Passwords(settings.PASSWORD_METHOD).hash(password)

    def set_password(settings, tx, account):
        """Store the new hash; a new password ends every session (accounts.set_password)."""
        accounts.set_password(settings, tx, None, account["uid"], pwdhash)
        return f"Set a new password for {account['email']}; all its sessions have ended."

    return on_account(args, set_password)


def cmd_sign_out_everyone(args) -> int:
    """End every session of every account (ASVS 5.0 7.4.5), as the admin area's "Sign out everyone" does."""
    settings = command_settings(args)
    db = open_database(settings)
    try:
        check_current(db)
        ended = accounts.sign_out_everyone(settings, db, None)
    finally:
        db.close()
    print(f"Ended {ended} session{'s' if ended != 1 else ''}: everyone must sign in again.")
    return 0


def cmd_list_admins(args) -> int:
    """Print the members of a group (admin unless --group), one a line: uid, email, name, and "locked" if locked."""
    (name,) = checked_groups([args.group])
    settings = command_settings(args)
    db = open_database(settings)
    try:
        check_current(db)
        rows = db.all("group_members_list", name=name)
    finally:
        db.close()
    # Tab-separated: one line a member, easy to read and to cut(1).
    for row in rows:
        print("\t".join([str(row["uid"]), row["email"], f"{row['firstname']} {row['lastname']}"]
                        + (["locked"] if row["locked_at"] else [])))
    if not rows:
        print(f"Nobody is in the group {name}." + (" Make the first administrator with: wsgiauth create-user "
              "EMAIL --first-name F --last-name L --confirmed --group admin" if name == accounts.ADMIN else ""),
              file=sys.stderr)
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
    made = {}
    for name, run, text in [("migrate", cmd_migrate, "apply pending schema migrations"),
                            ("deliver-mail", cmd_deliver_mail, "send pending mail from the outbox (run it from cron)"),
                            ("cleanup", cmd_cleanup, "delete expired sessions, old rate-limit rows and records "
                             "past their retention (cron)"),
                            ("create-user", cmd_create_user, "create an account (the password is asked for)"),
                            ("add-to-group", cmd_change, "put an account in a group (made if new)"),
                            ("remove-from-group", cmd_change, "take an account out of a group"),
                            ("list-admins", cmd_list_admins, "list the administrators (or a group's members)"),
                            ("set-password", cmd_set_password, "set an account's password (asked for); ends "
                             "its sessions"),
                            ("lock", cmd_change, "lock an account: no sign-in, its sessions end"),
                            ("unlock", cmd_change, "unlock an account"),
                            ("sign-out-everyone", cmd_sign_out_everyone, "end every session of every account")]:
        command = made[name] = commands.add_parser(name, help=text)
        command.add_argument("--database", help="database URL (default: WSGIAUTH_DATABASE)")
        command.set_defaults(run=run)
    made["deliver-mail"].add_argument("--now", action="store_true",
                                      help="also retry messages still waiting out their retry delay")
    for name in ("create-user", "add-to-group", "remove-from-group", "set-password", "lock", "unlock"):
        made[name].add_argument("email", help="the account's email address")
    for name in ("add-to-group", "remove-from-group"):
        made[name].add_argument("group", help="the group's name, e.g. admin")
    for name in ("create-user", "set-password"):
        made[name].add_argument("--password-stdin", action="store_true",
                                help="read the password from the first line of standard input")
    create = made["create-user"]
    create.add_argument("--first-name", required=True)
    create.add_argument("--last-name", required=True)
    create.add_argument("--confirmed", action="store_true", help="mark the email address as confirmed")
    create.add_argument("--group", action="append", metavar="NAME",
                        help="put the account in this group (repeatable); --group admin makes an administrator")
    made["list-admins"].add_argument("--group", default=accounts.ADMIN, metavar="NAME",
                                     help="list this group's members instead (default: admin)")
    return top


def main(argv=None) -> int:
    """Parse the command line and run the chosen command; problems an operator can fix are one line on stderr."""
    args = parser().parse_args(argv)
    stderr = logging.StreamHandler()
    stderr.setFormatter(TextFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[stderr])
    try:
        return args.run(args)
    except (CommandError, ConfigError, DatabaseUnavailable, SchemaBehind) as error:
        print(f"wsgiauth {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
