"""ASVS 5.0 6.1.3, 6.3.4: SECURITY.md's "Sign-in pathways" names every endpoint that takes a credential, so a new
way into an account cannot go undocumented."""

import pathlib
import re

from wsgiauth.routes import PUBLIC, VIEWS

SECURITY_MD = pathlib.Path(__file__).resolve().parents[2] / "SECURITY.md"

# Public endpoints that take no credential (no password, code, passkey answer,
# emailed token or session to vouch for): pages, forms that only send mail,
# and the challenges a passkey ceremony starts with (the answer goes to an
# endpoint that is listed). A new public endpoint is a failure until it is
# either documented as a pathway or added here on purpose.
NO_CREDENTIAL = frozenset({
    "static", "home", "about", "contact", "contact_sent", "forgot", "forgot_sent", "confirm_new", "signout",
    "passkey_signin_options", "signin_code_passkey_options",
})
# Signed in already, but a credential is checked again (re-authentication).
REAUTHENTICATION = frozenset({"confirm_access"})


def pathways_section() -> str:
    """Return the text of SECURITY.md's "Sign-in pathways" section."""
    text = SECURITY_MD.read_text(encoding="utf-8")
    return re.search(r"^## Sign-in pathways.*?(?=^## )", text, re.S | re.M)[0]


def test_every_endpoint_that_takes_a_credential_is_a_documented_pathway():
    named = set(re.findall(r"`([a-z_]+)`", pathways_section()))
    takes_credential = (PUBLIC - NO_CREDENTIAL) | REAUTHENTICATION
    assert takes_credential - named == set()
    assert NO_CREDENTIAL <= set(VIEWS)  # no stale name hides a new endpoint


def test_each_pathway_says_its_controls_and_strength():
    rows = [line for line in pathways_section().splitlines() if line.startswith("| ") and "---" not in line]
    header, *pathways = rows
    assert header == "| Pathway | Endpoints | Controls | Strength |"
    names = [row.split(" | ")[0].lstrip("| ") for row in pathways]
    for expected in ("Password", "Password + authenticator code", "Password + recovery code",
                     "Password + passkey as the second step", "Passkey alone", "Password reset link, then sign-in",
                     "Email change link", "Forward authentication / gate", "Operator commands"):
        assert expected in names
    for row in pathways:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        assert len(cells) == 4 and all(cells), row
