"""ASVS 5.0 6.1.1 / 7.1.1 / 7.1.2: the limit, lockout and session figures SECURITY.md gives are the code's."""

from pathlib import Path

from wsgiauth import factors, limits
from wsgiauth.config import Settings

SECURITY_MD = Path(__file__).resolve().parents[2] / "SECURITY.md"
UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400, "sessions": 1}
PER = {"IP address": "ip", "account": "account", "session": "session"}


def figure(text: str) -> int:
    """Return the seconds in "10 minutes", "1 hour", "30 days"; a count ("50 sessions") as it is."""
    number, unit = text.split()
    return int(number) * UNITS[unit]


def rows(heading: str) -> list:
    """Return the cells of each body row of the first table after the given first column heading."""
    text = SECURITY_MD.read_text(encoding="utf-8")
    table = text[text.index(f"| {heading} |"):].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table]


def test_every_limit_of_the_code_is_in_security_md_with_its_figures():
    documented = {name.strip("`"): (per, int(most), figure(within)) for name, per, most, within in rows("Limit")}
    in_code = [value for value in vars(limits).values() if isinstance(value, (limits.Limit, limits.Backoff))]
    assert len(documented) == len(in_code) == 10
    for limit in in_code:
        per, most, within = documented[limit.bucket]
        if isinstance(limit, limits.Backoff):
            assert (most, within) == (limit.failures, limit.window)
            assert (limit.first_wait, limit.max_wait) == (60, 3600)  # "1 minute, doubling ... up to 1 hour"
        else:
            assert (PER[per], most, within) == (limit.per, limit.limit, limit.window), limit.bucket


def test_the_session_rules_in_security_md_are_the_defaults():
    """6.1.1 / 7.1.1 / 7.1.2: every session figure in the table is the setting's default."""
    table = {setting.strip("`").removeprefix("WSGIAUTH_"): figure(default)
             for _, default, setting in rows("Session rule") if setting.startswith("`")}
    defaults = Settings()
    assert table == {"SESSION_LIFETIME": defaults.SESSION_LIFETIME,
                     "SESSION_IDLE_TIMEOUT": defaults.SESSION_IDLE_TIMEOUT,
                     "REMEMBER_LIFETIME": defaults.REMEMBER_LIFETIME,
                     "REMEMBER_IDLE_TIMEOUT": defaults.REMEMBER_IDLE_TIMEOUT,
                     "CONFIRM_ACCESS_MINUTES": defaults.CONFIRM_ACCESS_MINUTES * 60,
                     "MAX_SESSIONS": defaults.MAX_SESSIONS}
    assert "| Between the right password and the code | 5 minutes |" in SECURITY_MD.read_text(encoding="utf-8")
    assert factors.PENDING_SECONDS == 5 * 60
