"""ASVS 5.0 2.1.1: the input rules SECURITY.md documents are the code's, figure by figure."""

from pathlib import Path

from wsgiauth import forms, passkeys
from wsgiauth.accounts import GROUP_NAME
from wsgiauth.config import Settings

SECURITY_MD = Path(__file__).resolve().parents[2] / "SECURITY.md"


def input_rules() -> dict:
    """Return {field: (characters, rule)} of the table under "## Input rules" in SECURITY.md."""
    text = SECURITY_MD.read_text(encoding="utf-8")
    section = text[text.index("## Input rules"):]
    table = section[section.index("| Field |"):].split("\n\n", 1)[0].splitlines()[2:]
    cells = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table]
    return {field: (characters, rule) for field, _, characters, rule in cells}


def longest_group_name() -> int:
    """Return the length of the longest group name the rule accepts (it accepts every shorter one)."""
    return max(n for n in range(1, 200) if GROUP_NAME.fullmatch("a" * n))


def test_2_1_1_every_length_in_the_input_rules_is_the_code_s():
    """2.1.1: each documented length (min-max) is what the validators enforce; a new limit must be documented."""
    in_code = {
        "Email address": (1, forms.EMAIL_MAX),
        "First name, last name": (1, forms.NAME_MAX),
        "New password": (forms.PASSWORD_MIN, forms.PASSWORD_MAX),
        "Code": (1, forms.CODE_MAX),
        "Contact name": (1, forms.NAME_MAX),
        "Contact subject": (1, forms.SUBJECT_MAX),
        "Contact message": (1, forms.MESSAGE_MAX),
        "Passkey name": (0, passkeys.NAME_MAX),
        "Search": (0, forms.SEARCH_MAX),
        "Group name": (1, longest_group_name()),
    }
    rules = input_rules()
    documented = {field: tuple(int(n) for n in characters.split("-"))
                  for field, (characters, _) in rules.items() if characters[0].isdigit()}
    assert documented == in_code
    assert f"local part of at most {forms.LOCAL_MAX} characters" in rules["Email address"][1]
    assert rules["Request body"][0] == "at most 1 MiB" and Settings().MAX_CONTENT_LENGTH == 1024 * 1024
    assert "`DELETE`" in rules["Account deletion"][1]
    assert forms.validate_delete({"delete_confirm": "DELETE"}) == {}
