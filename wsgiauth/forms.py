"""Form validation by hand: plain functions returning (clean data, {field: message})."""

import datetime
import re
import unicodedata
from types import MappingProxyType

from .accounts import GROUP_NAME, GROUP_NAME_RULE
from .passwords import PASSWORD_MAX, is_common, normalize

# The database's column sizes; checked here so SQLite (which ignores VARCHAR
# lengths) and MySQL (which would refuse the row) behave the same.
NAME_MAX = 100
SUBJECT_MAX = 200
MESSAGE_MAX = 5000
EMAIL_MAX = 254  # RFC 5321's limit on a forward path
PASSWORD_MIN = 8  # ASVS 2.1.1
COMMON = "This password is too common. Please choose another."

# A plain address, local@domain, and nothing else an RFC 5322 header allows:
# no comments "(x)", no display name, no quoted local part. Those would all
# be delivered to the same mailbox as the bare address, so one inbox could
# hold many accounts (security review, issue 11). The local part is a
# dot-atom (RFC 5322 3.2.3), at most 64 characters (RFC 5321 4.5.3.1.1); the
# domain is host names of letters, digits and hyphens, at most 63 characters
# each, ending in a top-level name that is not all digits. ASCII only: mail
# to a non-ASCII local part needs SMTPUTF8, which many servers lack.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TOP_LABEL = r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"  # "com", "xn--p1ai"; never "123"
_EMAIL = re.compile(rf"(?:{_ATEXT}\.)*{_ATEXT}@(?:{_LABEL}\.)+{_TOP_LABEL}")
LOCAL_MAX = 64
_WORD_START = re.compile(r"(^|[\s\-'’])(\w)")
# Unicode's line and paragraph separators (Zl, Zp) and every control
# character (Cc: CR, LF, NEL, vertical tab, form feed, ...): everything
# Unicode defines as breaking a line, none of which a one-line field needs.
# Lone surrogates (Cs) are no text at all (HTTP form data never decodes to
# them, but a validator answers any string).
_NOT_IN_A_LINE = frozenset({"Cc", "Zl", "Zp", "Cs"})
_NOTHING = MappingProxyType({})


def refilled(request):
    """Return what was typed into an expired form shown again as a page (app.show_form_again), else {}."""
    # getattr: a Request of another class (the gate's) has no such attribute.
    return getattr(request, "refill", _NOTHING)


def typed(request, *fields):
    """Return what the user typed into fields, to re-show the form (never a password)."""
    if request.method != "POST":
        # Nothing typed yet (no body to parse), or a form shown again after
        # its token expired: what was typed into it (app.show_form_again).
        refill = refilled(request)
        return {field: refill.get(field, "") for field in fields}
    return {field: request.form.get(field, "") for field in fields}


def breaks_line(value: str) -> bool:
    """Say whether value contains a line break, a line or paragraph separator, or a control character."""
    return any(unicodedata.category(ch) in _NOT_IN_A_LINE for ch in value)


def _capital(match) -> str:
    """Return a word's first letter in capitals, unless that would make it longer (ß -> SS)."""
    letter = match.group(2).upper()
    return match.group(1) + (letter if len(letter) == 1 else match.group(2))


def clean_name(value: str) -> str:
    """Trim a name and capitalise it only if it was typed all in lower case."""
    value = value.strip()
    if value == value.lower():
        # "ada lovelace" -> "Ada Lovelace"; "van Gogh" and "McDonald" were
        # typed with care and are kept exactly. Never longer than typed, so
        # the length checked is the length stored.
        value = _WORD_START.sub(_capital, value)
    return value


def clean_email(value: str) -> str:
    """Trim and lower-case an email address, so one mailbox is one account."""
    return value.strip().lower()


def canonical_email(value: str):
    """Return the one stored form of an email address (trimmed, lower case), or None if it is not a plain address."""
    # Matched by a regular expression on ASCII alone, never handed to the
    # email package's parser, which raises on some hostile input: any
    # string gets an answer (security review, issue 11, finding 4).
    email = clean_email(value)
    if len(email) > EMAIL_MAX or not email.isascii() or not _EMAIL.fullmatch(email):
        return None
    local = email.partition("@")[0]
    # "=?...?=" is the start of an RFC 2047 encoded word, which the email
    # package would try to decode in a To header: no mailbox is named so.
    if len(local) > LOCAL_MAX or "=?" in local:
        return None
    return email


def check_line(value, errors, field, label, missing, maximum):
    """Validate one single-line text (a name, a subject) into errors; return it."""
    if not value:
        errors[field] = missing
    elif len(value) > maximum:
        errors[field] = f"{label} must be at most {maximum} characters."
    elif breaks_line(value):
        # A line break here could end up in an email header (header
        # injection), and the email package refuses U+2028 in one.
        errors[field] = f"{label} must not contain line breaks or control characters."
    return value


def check_name(data, errors, field, label, missing):
    """Validate one name field into data/errors."""
    return check_line(clean_name(data.get(field, "")), errors, field, label, missing, NAME_MAX)


def check_email(value, errors, field="email"):
    """Validate an email address into errors; return its canonical form (or what was typed, cleaned)."""
    email = canonical_email(value)
    if email is None:
        email = clean_email(value)
        if len(email) > EMAIL_MAX:
            errors[field] = f"Email address must be at most {EMAIL_MAX} characters."
        else:
            errors[field] = "Please enter your email address."
    return email


def _squash(text: str) -> str:
    """Return text NFKC-normalised, case-folded and without spaces, for likeness checks."""
    return "".join(normalize(text).casefold().split())


def is_personal(password: str, personal) -> bool:
    """Say whether password is one of the user's own email, its local part, or name."""
    candidates = set()
    for item in filter(None, personal):
        candidates.add(_squash(item))
        candidates.add(_squash(item.split("@", 1)[0]))  # "ada.lovelace" of an email
    names = [_squash(item) for item in personal if item and "@" not in item]
    candidates.add("".join(names))  # first and last name together
    candidates.add("".join(reversed(names)))
    candidates.discard("")
    return _squash(password) in candidates


def contextual_word(password: str, words) -> str:
    """Return the site's word (passwords.context_words) password is built on, or ""."""
    # ASVS 5.0 6.1.2, 6.2.11: "wsgiauth2024!" or "Example.org" is guessed
    # right after the common passwords. Built on: what is left once the word
    # is taken out is shorter than the minimum length; a long passphrase
    # that happens to name the site is fine.
    squashed = _squash(password)
    return next((word for word in words if word in squashed and len(squashed.replace(word, "")) < PASSWORD_MIN),
                "")


def check_new_password(value, errors, field, personal, common, context=()):
    """Validate a password being chosen: length, not the user's email or name, not the site's words, not common."""
    # Length only, no composition rules (ASVS 2.1.9); any Unicode (2.1.4);
    # never trimmed or truncated (2.1.3). `personal` holds the email and
    # names: a password equal to one of them is the first thing guessed.
    # `common` is the app's list of common passwords (passwords.load_common),
    # the next things guessed (ASVS 2.1.7).
    if not value:
        errors[field] = "Please enter a password."
    elif len(value) < PASSWORD_MIN:
        errors[field] = f"Password must be at least {PASSWORD_MIN} characters."
    elif len(value) > PASSWORD_MAX:
        errors[field] = f"Password must be at most {PASSWORD_MAX} characters."
    elif is_personal(value, personal):
        errors[field] = "Password must not be your email address or name."
    elif contextual_word(value, context):
        errors[field] = (f"Password must not be built on this site's name or address "
                         f"(\u201c{contextual_word(value, context)}\u201d). Please choose another.")
    elif is_common(value, common):
        errors[field] = COMMON
    return value


def check_password_twice(form, errors, field, again, personal, common, context=()):
    """Validate a new password typed twice into errors (the sign-up rules); return it."""
    password = check_new_password(form.get(field, ""), errors, field, personal, common, context)
    if field not in errors and form.get(again, "") != password:
        errors[again] = "The two passwords do not match."
    return password


def validate_name(form):
    """Check first and last name (sign-up, account settings); return (clean data, errors)."""
    errors = {}
    data = {
        "firstname": check_name(form, errors, "firstname", "First name", "Please enter your first name."),
        "lastname": check_name(form, errors, "lastname", "Last name", "Please enter your last name."),
    }
    return data, errors


def validate_signup(form, common, context=()):
    """Check the sign-up form (common: the common passwords; context: the site's words); return (clean data, errors)."""
    data, errors = validate_name(form)
    data["email"] = check_email(form.get("email", ""), errors)
    # Never trimmed or altered: a password is exactly what was typed.
    data["password"] = check_new_password(form.get("password", ""), errors, "password", personal_of(data), common,
                                          context)
    return data, errors


def validate_email_field(form):
    """Check a form whose one field is an email address (forgot password, new link)."""
    errors = {}
    return {"email": check_email(form.get("email", ""), errors)}, errors


def validate_email_change(form):
    """Check the change-email form: the new address."""
    errors = {}
    return {"email": check_email(form.get("email", ""), errors)}, errors


def personal_of(user) -> tuple:
    """Return what a user's new password must not be: their email address and names."""
    return user["email"], user["firstname"], user["lastname"]


def validate_password_change(form, user, common, context=()):
    """Check the change-password form of user: the new password twice."""
    errors = {}
    new = check_password_twice(form, errors, "new_password", "new_password2", personal_of(user), common, context)
    return {"new": new}, errors


def validate_password_reset(form, user, common, context=()):
    """Check the reset form of user: the new password twice."""
    errors = {}
    password = check_password_twice(form, errors, "password", "password2", personal_of(user), common, context)
    return {"password": password}, errors


def validate_delete(form):
    """Check the delete-account form: the word DELETE; return the errors."""
    errors = {}
    # Typed, not clicked: deleting cannot happen by a slip of the mouse.
    if form.get("delete_confirm", "").strip() != "DELETE":
        errors["delete_confirm"] = "Please type DELETE (in capitals) to confirm."
    return errors


def validate_signin(form):
    """Check the sign-in form is filled in; return (clean data, errors)."""
    errors = {}
    email = clean_email(form.get("email", ""))
    password = form.get("password", "")
    if not email:
        errors["email"] = "Please enter your email address."
    if not password:
        errors["password"] = "Please enter your password."
    # "Keep me signed in": a persistent cookie and the longer session lifetimes.
    remember = bool(form.get("remember"))
    return {"email": email, "password": password, "remember": remember}, errors


CODE_MAX = 32  # a 6-digit code or a 14-character recovery code, with room for spaces


def validate_code(form):
    """Check a second-factor code field (an app's 6 digits, or a recovery code); return (the code, errors)."""
    code = "".join(str(form.get("code", "")).split())
    if not code:
        return "", {"code": "Please enter the code from your authenticator app, or a recovery code."}
    if len(code) > CODE_MAX or not code.isascii():
        return "", {"code": "That is not a code from an authenticator app or a recovery code."}
    return code, {}


def validate_contact(form):
    """Check the Contact form; return (clean data, errors)."""
    errors = {}
    # Kept as typed (only trimmed): this name is for a person to read.
    name = check_line(form.get("name", "").strip(), errors, "name", "Name", "Please enter your name.", NAME_MAX)
    email = check_email(form.get("email", ""), errors)  # it goes in a Reply-To header
    subject = check_line(form.get("subject", "").strip(), errors, "subject", "Subject", "Please enter a subject.",
                         SUBJECT_MAX)
    # Browsers send CRLF but count a line break as one character towards
    # maxlength; count it the same way here.
    message = form.get("message", "").replace("\r\n", "\n").strip()
    if not message:
        errors["message"] = "Please enter a message."
    elif len(message) > MESSAGE_MAX:
        errors["message"] = f"Message must be at most {MESSAGE_MAX} characters."
    return {"name": name, "email": email, "subject": subject, "message": message}, errors


# The admin area (issue 16). Its forms and filters come from an admin, but
# are still checked like anyone's input: each answers any value with a
# message, never an exception, and only clean values reach a query.

SEARCH_MAX = 254  # the longest email; no name key is longer than 201


def validate_user_search(args):
    """Check the user list's search: q (the start of an email or a name), by (email or name); return (data, errors)."""
    q = args.get("q", "").strip()
    by = args.get("by", "email")
    errors = {}
    if by not in ("email", "name"):
        errors["by"], by = "Search by email or by name.", "email"
    if len(q) > SEARCH_MAX or breaks_line(q):
        errors["q"], q = f"Type at most {SEARCH_MAX} characters, on one line.", ""
    return {"q": q, "by": by}, errors


def validate_delete_user(form, email):
    """Check the admin's delete-account form: the account's email address typed again; return the errors."""
    if clean_email(form.get("delete_confirm", "")) != email:
        return {"delete_confirm": "Please type the account's email address to confirm."}
    return {}


EVERYONE = "EVERYONE"  # typed to confirm "Sign out everyone" in the admin area


def validate_sign_out_everyone(form):
    """Check the admin's "Sign out everyone" form: the word EVERYONE typed; return the errors."""
    # A typed word, not a button alone: no slip of the mouse signs out every user.
    if form.get("signout_confirm", "").strip() != EVERYONE:
        return {"signout_confirm": f"Please type {EVERYONE} to confirm."}
    return {}


def validate_group(form):
    """Check a group name typed or chosen on a user's admin page; return (name, errors)."""
    name = form.get("group", "").strip().lower()
    if not GROUP_NAME.fullmatch(name):
        return None, {"group": GROUP_NAME_RULE}
    return name, {}


def parse_day(value: str, errors, field, label):
    """Return the epoch second a YYYY-MM-DD day (UTC) starts, None if empty; a bad one goes into errors."""
    if not value:
        return None
    try:
        day = datetime.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        errors[field] = f"{label} must be a date like 2027-01-31."
        return None
    return int(day.timestamp())


def validate_audit_filter(args, events):
    """Check the audit trail's filters (event, uid, ip, from, to); return (data, errors), '' or None for "any"."""
    errors = {}
    event = args.get("event", "")
    if event and event not in events:
        errors["event"], event = "Choose an event from the list.", ""
    uid = args.get("uid", "").strip()
    if uid and not (uid.isascii() and uid.isdigit() and len(uid) <= 10):
        errors["uid"], uid = "A user number is digits only, like 42.", ""
    ip = args.get("ip", "").strip()
    if len(ip) > 45 or not all(c.isalnum() or c in ".:" for c in ip) or not ip.isascii():
        errors["ip"], ip = "An IP address looks like 192.0.2.1 or 2001:db8::1.", ""
    since = parse_day(args.get("from", ""), errors, "from", "From")
    until = parse_day(args.get("to", ""), errors, "to", "To")
    if since is not None and until is not None and until < since:
        errors["to"], until = "To must not be before From.", None
    return {"event": event, "uid": int(uid) if uid else None, "ip": ip, "since": since,
            # "To" includes the whole day: up to the start of the next one.
            "until": until + 86400 if until is not None else None}, errors
