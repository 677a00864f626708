"""Small helpers every kind of test uses: the CSRF token of a page, a free loopback port."""

import re

# Defined in tests/mariadb.py, which must import nothing from the tests
# (the benchmark loads that file on its own); everyone else takes it from here.
from mariadb import free_port

__all__ = ["csrf_token_in", "free_port"]

_FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_in(html, action=None):
    """Return the CSRF token on a page: the first one, or that of the first form posting to action."""
    if action is not None:
        forms = [form for form in _FORM.findall(html) if f'action="{action}"' in form.split(">", 1)[0]]
        html = "".join(forms[:1])
    match = _TOKEN.search(html)
    assert match, f"page has no {'form posting to ' + action if action else 'form'} with a CSRF token"
    return match.group(1)
