"""The account emails: what each one says, and queueing one for a user in the caller's transaction."""

import datetime

from . import client, limits
from .mailer import address
from .tokens import CONFIRM_EMAIL

SITE = "wsgiauth"
SIGNATURE = f"\n-- \nThe {SITE} team\n"


def mail_for(user, letter, to=None) -> dict:
    """Return the outbox fields (to, subject, body) of letter (subject, body) for user, at `to` if given."""
    subject, body = letter
    # The bare address, no display name: a 100 + 100 character name would
    # not fit the outbox's To column, and the greeting names the user anyway.
    return {"to": address("", to or user["email"]), "subject": subject, "body": body + SIGNATURE}


def enqueue_for(app, tx, user, letter, to=None) -> int:
    """Queue letter for user (at `to` if given, e.g. a new address) inside tx; return the outbox id."""
    return app.outbox.enqueue(tx, **mail_for(user, letter, to))


def draft_with_link(app, request, user, email, purpose, endpoint, write) -> dict:
    """Return the outbox row of a mail with a link, for user or, when no account has email, for a stand-in."""
    # The forms anyone may fill in with any address (forgot password, a new
    # confirmation link) do this same work, a token, a letter and a checked
    # message, whether or not the address has an account; only storing the
    # row differs. So neither the answer nor its timing tells which
    # addresses have accounts (OWASP Forgot Password Cheat Sheet).
    addressee = user or {"uid": 0, "firstname": "", "lastname": "", "email": email, "pwdhash": "",
                         "pending_email": None, "confirmed_at": None}
    link = app.external_url(request, endpoint, token=app.tokens.make(purpose, addressee))
    return app.outbox.draft(**mail_for(addressee, write(addressee, link)))


def queue_confirmation(app, request, tx, user) -> int:
    """Queue the email with a link that confirms user's address inside tx; return the outbox id."""
    # Counts towards the confirmation-mail limit (limits.CONFIRM_MAIL): the
    # one sent at sign-up too, so "send it again" waits its 5 minutes.
    limits.CONFIRM_MAIL.record(tx, limits.key_of(limits.CONFIRM_MAIL, request, user), app.now())
    return app.outbox.store(tx, draft_with_link(app, request, user, user["email"], CONFIRM_EMAIL, "confirm",
                                                confirm_email))


def queue_password_notice(app, request, tx, user) -> int:
    """Queue the "your password has been changed" email for user inside tx; return its outbox id."""
    letter = password_changed(user, app.external_url(request, "forgot"), app.external_url(request, "contact"))
    return enqueue_for(app, tx, user, letter)


def queue_passkey_notice(app, request, tx, user, name, added: bool) -> int:
    """Queue the "a passkey was added/removed" email for user inside tx; return its outbox id."""
    return enqueue_for(app, tx, user, passkey_changed(user, name, added, *seen_and_links(app, request)))


def seen_and_links(app, request) -> tuple:
    """Return (when, browser and IP of this request; links to the security page and password reset) for a notice."""
    # When, from which browser and IP, and what to do if it was not them
    # (ASVS 5.0 6.3.7: users are told when an authentication factor changes).
    when = datetime.datetime.fromtimestamp(app.now(), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    seen = {"when": when, "browser": client.describe_agent(client.agent(request)),
            "ip": client.ip(request) or "unknown"}
    links = {"security": app.external_url(request, "security"), "forgot": app.external_url(request, "forgot")}
    return seen, links


def passkey_changed(user, name, added, seen, links):
    """Return the notice that a passkey was added to, or removed from, the account."""
    what = "added to" if added else "removed from"
    return f"A passkey was {what} your account", (
        f"Hello {user['firstname']},\n\n"
        f"The passkey \u201c{name}\u201d was {what} your {SITE} account on {seen['when']}, "
        f"from {seen['browser']} at IP address {seen['ip']}.\n\n"
        "If this was you, there is nothing to do. If it was not, someone else is signed in to your "
        f"account: choose a new password at\n\n{links['forgot']}\n\n"
        f"then open\n\n{links['security']}\n\n"
        "to sign out everywhere else and remove any passkey you do not know.\n")


def confirm_email(user, link):
    """Return the letter with the link that confirms a new account's address."""
    return "Please confirm your email address", (
        f"Hello {user['firstname']},\n\n"
        f"Please confirm that {user['email']} is your email address by opening this link "
        f"within 48 hours:\n\n{link}\n\n"
        f"If you did not create an account at {SITE}, you can ignore this email.\n")


def reset_password(user, link):
    """Return the letter with the link that lets the owner choose a new password."""
    return "Reset your password", (
        f"Hello {user['firstname']},\n\n"
        f"Someone, hopefully you, asked to reset the password of your {SITE} account. "
        f"To choose a new one, open this link within 1 hour:\n\n{link}\n\n"
        "The link works once. If you did not ask for it, ignore this email: "
        "your password stays as it is.\n")


def password_changed(user, forgot_link, contact_link):
    """Return the notice that the account's password has just been changed."""
    return "Your password has been changed", (
        f"Hello {user['firstname']},\n\n"
        f"The password of your {SITE} account has just been changed, and every other "
        "browser signed in to it has been signed out.\n\n"
        f"If you did not do this, choose a new password now at\n\n{forgot_link}\n\n"
        f"and tell us through {contact_link}\n")


def change_email(user, new_email, link):
    """Return the letter, sent to the new address, whose link makes the change."""
    return "Confirm your new email address", (
        f"Hello {user['firstname']},\n\n"
        f"You asked to use {new_email} for your {SITE} account instead of {user['email']}. "
        f"Open this link within 48 hours to make the change:\n\n{link}\n\n"
        "Until you do, nothing changes. If you did not ask for this, ignore this email.\n")


def address_has_account(email):
    """Return the letter sent instead of a change link when the new address already has an account."""
    return "Your email address is already in use", (
        f"Hello,\n\n"
        f"Someone asked to move another {SITE} account to {email}, but this address already has "
        f"an account of its own, so nothing has changed.\n\n"
        "If it was you, sign in with this address instead, or choose another address for the other "
        "account. If it was not you, you can ignore this email.\n")


def email_changed(user, old_email, new_email, contact_link):
    """Return the notice, sent to the old address, that the account now uses another one."""
    return "Your email address has been changed", (
        f"Hello {user['firstname']},\n\n"
        f"Your {SITE} account now uses {new_email} instead of {old_email}; "
        "this address will get no more email about it.\n\n"
        f"If you did not do this, tell us at once through {contact_link}\n")


def queue_recovery_code_notice(app, request, tx, user, left) -> int:
    """Queue the "a recovery code was used" email for user inside tx; return its outbox id."""
    return enqueue_for(app, tx, user, recovery_code_used(user, left, *seen_and_links(app, request)))


def queue_factor_notice(app, request, tx, user, write) -> int:
    """Queue a notice about the account's second factors (write(user, seen, links)) inside tx; return its id."""
    return enqueue_for(app, tx, user, write(user, *seen_and_links(app, request)))


def when_and_where(seen) -> str:
    """Return "on <when>, from <browser> at IP address <ip>" for a notice."""
    return f"on {seen['when']}, from {seen['browser']} at IP address {seen['ip']}"


def if_not_you(links) -> str:
    """Return the paragraph that says what to do if a change was not the account's owner's."""
    return ("If this was you, there is nothing to do. If it was not, someone else knows your password: "
            f"choose a new one at\n\n{links['forgot']}\n\nthen open\n\n{links['security']}\n\n"
            "to sign out everywhere else and check your authenticator app and passkeys.\n")


def recovery_code_used(user, left, seen, links):
    """Return the notice that a recovery code was used to sign in, and how many are left."""
    return "A recovery code was used to sign in", (
        f"Hello {user['firstname']},\n\n"
        f"Your {SITE} account was signed in to with your password and one of your recovery codes "
        f"{when_and_where(seen)}. {left} of your recovery codes are left; you can get a new set at\n\n"
        f"{links['security']}\n\n" + if_not_you(links))


def authenticator_added(user, seen, links):
    """Return the notice that an authenticator app now protects the account."""
    return "An authenticator app was added to your account", (
        f"Hello {user['firstname']},\n\n"
        f"An authenticator app was set up for your {SITE} account {when_and_where(seen)}. From now on, "
        "signing in asks for a code from it after your password. Keep your recovery codes somewhere safe.\n\n"
        + if_not_you(links))


def authenticator_removed(user, seen, links):
    """Return the notice that the account's authenticator app was removed."""
    return "The authenticator app was removed from your account", (
        f"Hello {user['firstname']},\n\n"
        f"The authenticator app of your {SITE} account was removed {when_and_where(seen)}. Signing in no "
        "longer asks for its code, and your recovery codes no longer work.\n\n" + if_not_you(links))


def recovery_codes_renewed(user, seen, links):
    """Return the notice that a new set of recovery codes replaced the old one."""
    return "You have new recovery codes", (
        f"Hello {user['firstname']},\n\n"
        f"A new set of recovery codes was made for your {SITE} account {when_and_where(seen)}; "
        "the old ones no longer work.\n\n" + if_not_you(links))


def queue_new_place_notice(app, request, tx, user) -> int:
    """Queue the "new sign-in" email (when, browser, IP) for user inside tx; return its outbox id."""
    return enqueue_for(app, tx, user, new_place(user, *seen_and_links(app, request)))


def new_place(user, seen, links):
    """Return the notice of a sign-in from a browser and network the account has not used for 90 days."""
    return "New sign-in to your account", (
        f"Hello {user['firstname']},\n\n"
        f"Your {SITE} account was signed in to from a browser and network it has not used lately:\n\n"
        f"  When:    {seen['when']}\n  Browser: {seen['browser']}\n  IP:      {seen['ip']}\n\n"
        "If this was you, there is nothing to do.\n\n"
        f"If it was not, sign out every other browser at\n\n{links['security']}\n\n"
        f"and choose a new password at\n\n{links['forgot']}\n")


def factors_removed_by_admin(user, seen, links):
    """Return the notice that an administrator removed the account's second factors (the user had lost them)."""
    return "The second factors of your account were removed", (
        f"Hello {user['firstname']},\n\n"
        f"An administrator removed the authenticator app, recovery codes and passkeys of your {SITE} account "
        f"on {seen['when']}, as asked when they were lost. Signing in now needs only your password; please "
        f"set up an authenticator app or a passkey again at\n\n{links['security']}\n\n"
        "If you did not ask for this, someone may be trying to take over your account: choose a new "
        f"password at\n\n{links['forgot']}\n\nand write to us.\n")
