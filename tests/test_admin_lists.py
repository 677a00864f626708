"""The admin area's lists, page after page: each matching user or event once, in order (keyset pagination)."""

import html
import re
from urllib.parse import urlencode

import pytest

from wsgiauth import accounts
from wsgiauth.views.admin import PAGE

from conftest import ADA

ROW = re.compile(r'<td data-label="Email"[^>]*><a href="[^"]+">([^<]+)</a>')
DETAIL = re.compile(r'<td data-label="Detail"[^>]*>([^<]+)</td>')
NEXT = re.compile(r'<a class="button secondary" href="([^"]+)" rel="next">')


def every_page(client, path, row=ROW):
    """Follow the Next links from path; return the rows of every page in turn, and how many pages there were."""
    emails, pages = [], 0
    while path:
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        emails += row.findall(page)
        pages += 1
        path = html.unescape(NEXT.search(page)[1]) if NEXT.search(page) else None
    return emails, pages


def signed_in_admin(app, make_user, auth):
    """Return the test client signed in as a member of the group admin, and that admin's uid."""
    uid = make_user(firstname="Root", lastname="Admin", email="admin@example.com")
    app.db.transaction(lambda tx: accounts.add_to_group(app.settings, tx, None, uid, accounts.ADMIN))
    assert auth.signin("admin@example.com", ADA["password"]).status_code == 303
    return auth.client, uid


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
    admin, _ = signed_in_admin(app, make_user, auth)
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


@pytest.mark.both_databases
def test_every_page_of_the_audit_trail_lists_each_event_once_newest_first(app, make_user, auth, clock):
    admin, _ = signed_in_admin(app, make_user, auth)
    ada = make_user(email="ada@example.com")
    grace = make_user(email="grace@example.com", firstname="Grace")
    # 130 events, two to a second (the page's cursor is (at, id)), Ada's
    # and Grace's in turn, from two addresses, of two kinds.
    events = [(n, int(clock()) - 1000 + n // 2, ["signin", "signout"][n % 3 == 0], [ada, grace][n % 2],
               ["192.0.2.1", "192.0.2.2"][n % 5 == 0]) for n in range(130)]

    def store(tx):
        for n, at, event, uid, ip in events:
            tx.run("insert_security_event", at=at, event=event, uid=uid, ip=ip, user_agent="test", detail=f"n{n}",
                   actor_uid=None)

    app.db.transaction(store)

    def details(keep):
        """Return the details of the events keep(event, uid, ip) accepts, newest first (at, then id: n)."""
        newest_first = sorted(events, key=lambda e: (-e[1], -e[0]))
        return [f"n{n}" for n, _, event, uid, ip in newest_first if keep(event, uid, ip)]

    for path, expected in [
        (f"/admin/users/{ada}", details(lambda event, uid, ip: uid == ada)),
        ("/admin/audit?event=signout", details(lambda event, uid, ip: event == "signout")),
        ("/admin/audit?ip=192.0.2.2", details(lambda event, uid, ip: ip == "192.0.2.2")),
        (f"/admin/audit?uid={grace}&event=signin", details(lambda event, uid, ip: uid == grace and event == "signin")),
        ("/admin/audit?ip=192.0.2.1&event=signout", details(lambda event, uid, ip: ip == "192.0.2.1"
                                                            and event == "signout")),
    ]:
        rows, pages = every_page(admin, path, DETAIL)
        assert rows == expected, path
        assert pages == max(1, -(-len(expected) // PAGE)), path
    rows, _ = every_page(admin, "/admin/audit", DETAIL)  # also the admin's own sign-in and group, without detail "n"
    assert [row for row in rows if row.startswith("n")] == details(lambda event, uid, ip: True)
