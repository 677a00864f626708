"""The URL map: every URL the app answers, and the view function behind each endpoint."""

from werkzeug.routing import Map, Rule

from .views import (
    access,
    account,
    admin,
    confirm,
    contact,
    forward_auth,
    pages,
    passkeys,
    password_reset,
    profile,
    security,
    signin,
)

# Endpoint name -> view(app, request, **values) -> Response. Written out in
# full so a reader sees every page in one place; nothing registers itself.
VIEWS = {
    "static": pages.static,
    "home": pages.home,
    "about": pages.about,
    "contact": contact.contact,
    "contact_sent": contact.contact_sent,
    "signup": signin.signup,
    "signin": signin.signin,
    "profile": profile.profile,
    "signout": signin.signout,
    "signin_code": signin.signin_code,
    "security": security.security,
    "signout_others": security.signout_others,
    "app_setup": security.app_setup,
    "app_confirm": security.app_confirm,
    "app_remove": security.app_remove,
    "recovery_codes": security.recovery_codes,
    "passkey_add_options": passkeys.add_options,
    "passkey_add": passkeys.add,
    "passkey_remove": passkeys.remove,
    "passkey_signin_options": passkeys.signin_options,
    "passkey_signin": passkeys.signin,
    "signin_code_passkey_options": passkeys.signin_code_options,
    "confirm_access_passkey_options": passkeys.confirm_access_options,
    "confirm": confirm.confirm,
    "confirm_link": confirm.confirm_link,
    "confirm_new": confirm.confirm_new,
    "confirm_access": access.confirm_access,
    "forgot": password_reset.forgot,
    "forgot_sent": password_reset.forgot_sent,
    "reset": password_reset.reset,
    "reset_link": password_reset.reset_link,
    "account": account.account,
    "account_name": account.account_name,
    "account_email": account.account_email,
    "account_email_confirm": account.account_email_confirm,
    "account_email_link": account.account_email_link,
    "account_password": account.account_password,
    "account_delete": account.account_delete,
    "auth_verify": forward_auth.verify,
    "account_data": account.account_data,
    # The admin area (issue 16, views/admin.py).
    "admin_users": admin.users,
    "admin_user": admin.user,
    "admin_user_signout": admin.signout,
    "admin_user_lock": admin.lock,
    "admin_user_unlock": admin.unlock,
    "admin_user_confirmation": admin.resend_confirmation,
    "admin_user_reset": admin.send_reset,
    "admin_user_factors": admin.remove_factors,
    "admin_user_group_add": admin.group_add,
    "admin_user_group_remove": admin.group_remove,
    "admin_user_delete": admin.delete,
    "admin_sessions": admin.sessions,
    "admin_sessions_signout": admin.sign_out_everyone,
    "admin_audit": admin.audit_trail,
    "admin_audit_csv": admin.audit_csv,
}

# The third gate (issue 16): endpoints only members of one group may use;
# everyone else, signed in, gets 403 (ASVS 5.0 8.2.1, 8.2.2: every function
# needs an explicit permission). Checked by app.authorize before the view
# runs, whichever way it is reached (the dispatcher, or a form carried
# through the Confirm access page). Every endpoint named admin_...: the
# admin area's; tests/security/test_admin_access.py checks that every URL
# under /admin is one of them, and tries each as a non-admin.
GROUP_ONLY = {endpoint: "admin" for endpoint in VIEWS if endpoint.startswith("admin_")}


# The sign-in gate is the default: every endpoint needs a signed-in user
# unless it is named here (as Rails' allow_unauthenticated_access), so a new
# page cannot be left open by forgetting a check (app.dispatch_request).
# Links from emails are public: they are opened in whatever browser the mail
# program picks, signed in or not, and carry their own proof (the token).
# /auth/verify answers signed-out requests itself: a 401 (or a redirect) to
# the proxy asking, not the gate's redirect of a browser.
PUBLIC = frozenset({
    "static", "home", "about", "contact", "contact_sent",
    "signup", "signin", "signin_code", "signout", "passkey_signin_options", "passkey_signin",
    "signin_code_passkey_options",
    "confirm", "confirm_link", "confirm_new", "forgot", "forgot_sent", "reset", "reset_link",
    "account_email_confirm", "account_email_link",
    "auth_verify",
})


# A lookup for who, never for a page: app.load_session reads no notice for
# it, and the gate in front of a host app makes it too (gate.py).
IDENTITY_LOOKUP = "session_identity"
# The session lookup (sql/queries.sql) of each endpoint that reads more or
# less than session_user, the whole session and its user. Every request makes
# one lookup, so a page whose own rows ride along with it costs one round
# trip instead of two (issue 18: on MySQL a round trip costs more CPU than the
# rest of a page). The same rules decide whether the session is live.
SESSION_LOOKUPS = {
    # Asks only who is signed in and renders no page: the identity alone, as
    # the gate's (no notice, Confirm access time or "Keep me signed in"). The
    # forward-auth check a proxy makes before every request it passes on.
    "auth_verify": IDENTITY_LOOKUP,
    # The session, then the account's sessions, sign-ins and authenticator app.
    "security": "session_and_security_page",
}


def session_lookup(endpoint: str) -> str:
    """Return the name of the query that reads endpoint's session: session_user unless SESSION_LOOKUPS says."""
    return SESSION_LOOKUPS.get(endpoint, "session_user")


# WSGIAUTH_REQUIRE_SECOND_FACTOR (ASVS 5.0 6.3.3): a signed-in account the
# setting covers that has no second factor yet may reach only these pages,
# what it takes to set one up (and to leave); every other page sends it to
# the sign-in security page (app.authorize). Public pages stay public.
SECOND_FACTOR_SETUP = frozenset({
    "security", "app_setup", "app_confirm", "passkey_add_options", "passkey_add",
    "confirm_access", "confirm_access_passkey_options",
})


# Confirm access ("sudo mode", views/access.py): these endpoints need the
# user to have proved who they are (signed in, or typed the password on the
# Confirm access page) within WSGIAUTH_CONFIRM_ACCESS_MINUTES, checked by the
# dispatcher before the view runs, like the sign-in gate (ASVS 5.0 7.5.1,
# 7.5.2). For a form, what the Confirm access page may carry through to it
# when the time ran out while it was being filled in: the names of its
# fields (an allow list; anything else is dropped), or, for a form with a
# secret (a new password, a code) that is never written into a page, the
# page (and #section) the browser returns to, to type it again.
CONFIRMED = {
    "account": (),
    "account_email": ("email",),
    "account_password": "account#password",
    "account_delete": ("delete_confirm",),
    "signout_others": (),
    # The authenticator app: its page shows the key, the forms make or end it.
    "app_setup": (),
    "app_confirm": "app_setup",  # the code typed is a secret (and is stale by then): typed again
    "app_remove": (),
    "recovery_codes": (),
    # The sign-in security page itself (ASVS 5.0 7.5.2: seeing and ending
    # sessions), and passkeys: the options are fetched by passkeys.js from the
    # page, so the page must be confirmed for them to be; an answer to a
    # ceremony is stale after a confirmation, so the page is shown again.
    "security": (),
    "passkey_add_options": (),
    "passkey_add": "security",
    "passkey_remove": ("passkey",),
    "account_data": (),
    # The admin area: every page and action, as GitHub's admin does.
    # Actions carry no typed secret; their fields are carried through.
    **{endpoint: () for endpoint in GROUP_ONLY},
    "admin_user_group_add": ("group",),
    "admin_user_group_remove": ("group",),
    "admin_user_delete": ("delete_confirm",),
    "admin_sessions_signout": ("signout_confirm",),
}


# An expired form (issue 17): its CSRF token is too old, or the session
# cookie that held it is gone. Instead of a dead-end 400, the dispatcher
# shows the page the form is on again (its GET, with the URL's values),
# with a fresh token, the notice app.FORM_EXPIRED, and what was typed into
# the fields named here; the form's POST logic never runs. Never a
# password, a code or any other secret: those are typed again. A form not
# named here (the JSON of passkey ceremonies, the reset link's form, whose
# token is in its URL) still gets the plain 400 page.
SHOWN_AGAIN = {
    "signup": ("signup", ("firstname", "lastname", "email")),
    "signin": ("signin", ("email", "remember", "next")),
    "signout": ("signout", ()),
    "contact": ("contact", ("name", "email", "subject", "message")),
    "forgot": ("forgot", ("email",)),
    "confirm_new": ("confirm_new", ("email",)),
    "account_name": ("account", ("firstname", "lastname")),
    "account_email": ("account", ("email",)),
    "account_password": ("account", ()),
    "account_delete": ("account", ()),
    "signout_others": ("security", ()),
    "app_setup": ("security", ()),
    "app_confirm": ("app_setup", ()),
    "app_remove": ("security", ()),
    "recovery_codes": ("security", ()),
    "passkey_remove": ("security", ()),
    **{endpoint: ("admin_user", ()) for endpoint in GROUP_ONLY if endpoint.startswith("admin_user_")},
    "admin_user_group_add": ("admin_user", ("group",)),
    "admin_sessions_signout": ("admin_sessions", ()),
}


def url_map() -> Map:
    """Return a new Map of every route."""
    return Map(
        [
            Rule("/", endpoint="home", methods=["GET"]),
            Rule("/about", endpoint="about", methods=["GET"]),
            Rule("/contact", endpoint="contact", methods=["GET", "POST"]),
            Rule("/contact/sent", endpoint="contact_sent", methods=["GET"]),
            Rule("/signup", endpoint="signup", methods=["GET", "POST"]),
            Rule("/signin", endpoint="signin", methods=["GET", "POST"]),
            Rule("/profile", endpoint="profile", methods=["GET"]),
            Rule("/signout", endpoint="signout", methods=["GET", "POST"]),
            Rule("/signin/code", endpoint="signin_code", methods=["GET", "POST"]),
            Rule("/security", endpoint="security", methods=["GET"]),
            Rule("/security/app", endpoint="app_setup", methods=["GET", "POST"]),
            Rule("/security/app/confirm", endpoint="app_confirm", methods=["POST"]),
            Rule("/security/app/remove", endpoint="app_remove", methods=["POST"]),
            Rule("/security/recovery-codes", endpoint="recovery_codes", methods=["POST"]),
            Rule("/signout/others", endpoint="signout_others", methods=["POST"]),
            # Passkeys (issue 15): the options a page's script asks for
            # (JSON), then the form it posts with the browser's answer.
            Rule("/security/passkeys/options", endpoint="passkey_add_options", methods=["POST"]),
            Rule("/security/passkeys", endpoint="passkey_add", methods=["POST"]),
            Rule("/security/passkeys/remove", endpoint="passkey_remove", methods=["POST"]),
            Rule("/signin/passkey/options", endpoint="passkey_signin_options", methods=["POST"]),
            Rule("/signin/passkey", endpoint="passkey_signin", methods=["POST"]),
            # A passkey in place of the code, or of the password on Confirm access.
            Rule("/signin/code/passkey/options", endpoint="signin_code_passkey_options", methods=["POST"]),
            Rule("/confirm-access/passkey/options", endpoint="confirm_access_passkey_options", methods=["POST"]),
            # Links in emails carry a <token>: the request log of serve.py and
            # the error log print these rules, never the token itself. Each
            # only moves its token into a cookie and redirects to the page
            # without it (/confirm/link, /reset, /account/email/link: ASVS 5.0
            # 14.2.1, views/common.py:take_token); that page does the work.
            Rule("/confirm", endpoint="confirm_new", methods=["GET", "POST"]),
            Rule("/confirm/<token>", endpoint="confirm", methods=["GET"]),
            Rule("/confirm/link", endpoint="confirm_link", methods=["GET"]),
            Rule("/confirm-access", endpoint="confirm_access", methods=["GET", "POST"]),
            Rule("/forgot", endpoint="forgot", methods=["GET", "POST"]),
            Rule("/forgot/sent", endpoint="forgot_sent", methods=["GET"]),
            Rule("/reset/<token>", endpoint="reset", methods=["GET"]),
            Rule("/reset", endpoint="reset_link", methods=["GET", "POST"]),
            Rule("/account", endpoint="account", methods=["GET"]),
            Rule("/account/name", endpoint="account_name", methods=["POST"]),
            Rule("/account/email", endpoint="account_email", methods=["POST"]),
            Rule("/account/email/<token>", endpoint="account_email_confirm", methods=["GET"]),
            Rule("/account/email/link", endpoint="account_email_link", methods=["GET"]),
            Rule("/account/password", endpoint="account_password", methods=["POST"]),
            Rule("/account/delete", endpoint="account_delete", methods=["POST"]),
            Rule("/account/data", endpoint="account_data", methods=["GET"]),
            # The admin area (group admin only: GROUP_ONLY).
            Rule("/admin", endpoint="admin_users", methods=["GET"]),
            Rule("/admin/users/<int:uid>", endpoint="admin_user", methods=["GET"]),
            Rule("/admin/users/<int:uid>/signout", endpoint="admin_user_signout", methods=["POST"]),
            Rule("/admin/users/<int:uid>/lock", endpoint="admin_user_lock", methods=["POST"]),
            Rule("/admin/users/<int:uid>/unlock", endpoint="admin_user_unlock", methods=["POST"]),
            Rule("/admin/users/<int:uid>/confirmation", endpoint="admin_user_confirmation", methods=["POST"]),
            Rule("/admin/users/<int:uid>/reset", endpoint="admin_user_reset", methods=["POST"]),
            Rule("/admin/users/<int:uid>/factors/remove", endpoint="admin_user_factors", methods=["POST"]),
            Rule("/admin/users/<int:uid>/groups", endpoint="admin_user_group_add", methods=["POST"]),
            Rule("/admin/users/<int:uid>/groups/remove", endpoint="admin_user_group_remove", methods=["POST"]),
            Rule("/admin/users/<int:uid>/delete", endpoint="admin_user_delete", methods=["POST"]),
            Rule("/admin/sessions", endpoint="admin_sessions", methods=["GET"]),
            Rule("/admin/sessions/signout", endpoint="admin_sessions_signout", methods=["POST"]),
            Rule("/admin/audit", endpoint="admin_audit", methods=["GET"]),
            Rule("/admin/audit.csv", endpoint="admin_audit_csv", methods=["GET"]),
            # Asked by reverse proxies before they pass a request on (forward
            # authentication: nginx auth_request, Caddy forward_auth, Traefik).
            Rule("/auth/verify", endpoint="auth_verify", methods=["GET"]),
            Rule("/static/<path:filename>", endpoint="static", methods=["GET"]),
        ]
    )
