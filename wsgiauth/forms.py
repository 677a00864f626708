"""Form validation by hand: plain functions returning (clean data, {field: message})."""

import re
import unicodedata

from .common_passwords import is_common
from .passwords import normalize
from .mail import address

# The database's column sizes; checked here so SQLite (which ignores VARCHAR
# lengths) and MySQL (which would refuse the row) behave the same.
NAME_MAX = 100
SUBJECT_MAX = 200
MESSAGE_MAX = 5000
EMAIL_MAX = 254  # RFC 5321's limit on a forward path
PASSWORD_MIN = 8  # ASVS 2.1.1
PASSWORD_MAX = 1024  # ASVS 2.1.2 asks for at least 64; a cap bounds hashing work
COMMON = "This password is too common. Please choose another."

# Deliberately loose: one @, something on each side, a dot in the domain, no
# spaces. The only real check of an address is a mail that arrives.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_WORD_START = re.compile(r"(^|[\s\-'’])(\w)")


def typed(request, *fields):
    """Return what the user typed into fields, to re-show the form (never a password)."""
    if request.method != "POST":
        return dict.fromkeys(fields, "")  # nothing typed yet: no body to parse
    return {field: request.form.get(field, "") for field in fields}


def has_control_chars(value: str) -> bool:
    """Say whether value contains line breaks or other control characters."""
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def clean_name(value: str) -> str:
    """Trim a name and capitalise it only if it was typed all in lower case."""
    value = value.strip()
    if value == value.lower():
        # "ada lovelace" -> "Ada Lovelace"; "van Gogh" and "McDonald" were
        # typed with care and are kept exactly.
        value = _WORD_START.sub(lambda m: m.group(1) + m.group(2).upper(), value)
    return value


def clean_email(value: str) -> str:
    """Trim and lower-case an email address, so one mailbox is one account."""
    return value.strip().lower()


def check_line(value, errors, field, label, missing, maximum):
    """Validate one single-line text (a name, a subject) into errors; return it."""
    if not value:
        errors[field] = missing
    elif len(value) > maximum:
        errors[field] = f"{label} must be at most {maximum} characters."
    elif has_control_chars(value):
        # A CR or LF here could end up in an email header (header injection).
        errors[field] = f"{label} must not contain line breaks or control characters."
    return value


def check_name(data, errors, field, label, missing):
    """Validate one name field into data/errors."""
    return check_line(clean_name(data.get(field, "")), errors, field, label, missing, NAME_MAX)


def check_email(value, errors, field="email"):
    """Validate an email address into errors; return its clean form."""
    value = clean_email(value)
    if not value:
        errors[field] = "Please enter your email address."
    elif len(value) > EMAIL_MAX:
        errors[field] = f"Email address must be at most {EMAIL_MAX} characters."
    elif not _EMAIL.match(value) or has_control_chars(value) or not is_mailable(value):
        errors[field] = "Please enter your email address."
    return value


def is_mailable(email: str) -> bool:
    """Say whether email can stand in a To or Reply-To header (account emails go to it)."""
    try:
        address("", email)
    except ValueError:
        return False
    return True


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


def check_new_password(value, errors, field, personal, common):
    """Validate a password being chosen: length, not the user's email or name, not a common one."""
    # Length only, no composition rules (ASVS 2.1.9); any Unicode (2.1.4);
    # never trimmed or truncated (2.1.3). `personal` holds the email and
    # names: a password equal to one of them is the first thing guessed.
    # `common` is the app's list of common passwords (common_passwords.load),
    # the next things guessed (ASVS 2.1.7).
    if not value:
        errors[field] = "Please enter a password."
    elif len(value) < PASSWORD_MIN:
        errors[field] = f"Password must be at least {PASSWORD_MIN} characters."
    elif len(value) > PASSWORD_MAX:
        errors[field] = f"Password must be at most {PASSWORD_MAX} characters."
    elif is_personal(value, personal):
        errors[field] = "Password must not be your email address or name."
    elif is_common(value, common):
        errors[field] = COMMON
    return value


def check_password_twice(form, errors, field, again, personal, common):
    """Validate a new password typed twice into errors (the sign-up rules); return it."""
    password = check_new_password(form.get(field, ""), errors, field, personal, common)
    if field not in errors and form.get(again, "") != password:
        errors[again] = "The two passwords do not match."
    return password


def check_filled(form, errors, field, missing):
    """Put missing in errors if the field is empty; return its value as typed (for passwords)."""
    value = form.get(field, "")
    if not value:
        errors[field] = missing
    return value


def validate_name(form):
    """Check first and last name (sign-up, account settings); return (clean data, errors)."""
    errors = {}
    data = {
        "firstname": check_name(form, errors, "firstname", "First name", "Please enter your first name."),
        "lastname": check_name(form, errors, "lastname", "Last name", "Please enter your last name."),
    }
    return data, errors


def validate_signup(form, common):
    """Check the sign-up form (common: the common passwords); return (clean data, errors)."""
    data, errors = validate_name(form)
    data["email"] = check_email(form.get("email", ""), errors)
    # Never trimmed or altered: a password is exactly what was typed.
    data["password"] = check_new_password(form.get("password", ""), errors, "password", personal_of(data), common)
    return data, errors


def validate_email_field(form):
    """Check a form whose one field is an email address (forgot password, new link)."""
    errors = {}
    return {"email": check_email(form.get("email", ""), errors)}, errors


def validate_email_change(form):
    """Check the change-email form: the new address and the current password."""
    errors = {}
    email = check_email(form.get("email", ""), errors)
    password = check_filled(form, errors, "email_password", "Please enter your current password.")
    return {"email": email, "password": password}, errors


def personal_of(user) -> tuple:
    """Return what a user's new password must not be: their email address and names."""
    return user["email"], user["firstname"], user["lastname"]


def validate_password_change(form, user, common):
    """Check the change-password form of user: the current password and the new one twice."""
    errors = {}
    current = check_filled(form, errors, "current_password", "Please enter your current password.")
    new = check_password_twice(form, errors, "new_password", "new_password2", personal_of(user), common)
    return {"current": current, "new": new}, errors


def validate_password_reset(form, user, common):
    """Check the reset form of user: the new password twice."""
    errors = {}
    password = check_password_twice(form, errors, "password", "password2", personal_of(user), common)
    return {"password": password}, errors


def validate_delete(form):
    """Check the delete-account form: the current password and the word DELETE."""
    errors = {}
    password = check_filled(form, errors, "delete_password", "Please enter your current password.")
    # Typed, not clicked: deleting cannot happen by a slip of the mouse.
    if form.get("delete_confirm", "").strip() != "DELETE":
        errors["delete_confirm"] = "Please type DELETE (in capitals) to confirm."
    return {"password": password}, errors


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
