"""The admin area's user list, page after page: each matching user once, in order, by email and by name."""

import html
import re
from urllib.parse import urlencode

import pytest

from wsgiauth import accounts
from wsgiauth.views.admin import PAGE

from conftest import ADA

ROW = re.compile(r'<td data-label="Email"><a href="[^"]+">([^<]+)</a>')
NEXT = re.compile(r'<a class="button secondary" href="([^"]+)" rel="next">')


def every_page(client, path):
    """Follow the Next links from path; return the emails of every page in turn, and how many pages there were."""
    emails, pages = [], 0
    while path:
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        emails += ROW.findall(page)
        pages += 1
        path = html.unescape(NEXT.search(page)[1]) if NEXT.search(page) else None
    return emails, pages


@pytest.mark.both_databases
def test_every_page_lists_each_matching_user_once_in_order(app, make_user, auth):
    # 130 users: sixty namesakes (the same name key across a page's end,
    # told apart by uid), and addresses whose prefixes split them.
    users = [("Ada", "Lovelace", f"ada{n:03d}@example.com") for n in range(60)]
    users += [("Grace", "Hopper", f"grace{n:02d}@example.com") for n in range(40)]
    users += [("Alan", f"Turing{n:02d}", f"alan{n:02d}@example.org") for n in range(30)]
    for n in range(len(users)):
        first, last, email = users[n * 7 % len(users)]  # stored out of order: uids do not follow the emails
        make_user(firstname=first, lastname=last, email=email)
    uid = make_user(firstname="Root", lastname="Admin", email="admin@example.com")
    app.db.transaction(lambda tx: accounts.add_to_group(app.settings, tx, None, uid, accounts.ADMIN))
    assert auth.signin("admin@example.com", ADA["password"]).status_code == 303
    admin = auth.client
    everyone = users + [("Root", "Admin", "admin@example.com")]
    uids = {email: app.db.one("user_uid_by_email", email=email)["uid"] for _, _, email in everyone}

    def by_email(prefix):
        return sorted(email for _, _, email in everyone if email.startswith(prefix))

    def by_name(prefix):
        keys = [(accounts.name_key(first, last), uids[email], email) for first, last, email in everyone]
        return [email for key, _, email in sorted(keys) if key.startswith(prefix)]

    for q, expected in [("", by_email("")), ("a", by_email("a")), ("ada0", by_email("ada0")),
                        ("grace3", by_email("grace3")), ("zed", [])]:
        emails, pages = every_page(admin, "/admin?" + urlencode({"by": "email", "q": q}))
        assert emails == expected, q
        assert pages == max(1, -(-len(expected) // PAGE))
    for q, expected in [("", by_name("")), ("ada", by_name("ada")), ("Ada Lovelace", by_name("ada lovelace")),
                        ("alan turing1", by_name("alan turing1")), ("zed", [])]:
        emails, pages = every_page(admin, "/admin?" + urlencode({"by": "name", "q": q}))
        assert emails == expected, q
        assert pages == max(1, -(-len(expected) // PAGE))
