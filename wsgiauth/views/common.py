"""What several views share: the pages that answer a link from an email."""

from ..tokens import EXPIRED, INVALID, TAKEN, USED

# The status of a page opened from an email link, by what is wrong with the link.
LINK_STATUS = {None: 200, INVALID: 400, EXPIRED: 410, USED: 410, TAKEN: 409}
# A real token is about 100 characters; anything much longer is not one, and
# would not fit in a cookie: the page then says the link does not work.
LONGEST_TOKEN = 500


def take_token(app, request, purpose, token, page):
    """Answer an email link: keep its token in a cookie for the endpoint page, and send the browser there."""
    # ASVS 5.0 14.2.1: the token leaves the address on first use (as Django's
    # PasswordResetConfirmView does), so it stays out of the history, of any
    # proxy's access log and of a screenshot. The redirect's Location has no
    # token; this answer itself goes out with Referrer-Policy: no-referrer
    # (app.add_headers). Checked by the page, whatever the token is, so a bad
    # link leaves the address too, and the page says what is wrong with it.
    if len(token) <= LONGEST_TOKEN:
        app.sessions.keep_link_token(request.session, purpose, token, app.url_for(request, page))
    return app.redirect_to(request, page)


def kept_token(app, request, purpose) -> str:
    """Return the token the browser's link cookie holds for purpose ("" without one: the link does not work)."""
    return app.sessions.link_token(request, purpose)


def forget_token(app, request, purpose) -> None:
    """Expire the link cookie of purpose, sent to the page of this request: the link has done its work."""
    app.sessions.drop_link_token(request.session, purpose, app.url_for(request, request.url_rule.endpoint))


def link_page(app, request, template, problem, **context):
    """Render a page opened from a link in an email, with the status its problem calls for."""
    return app.render(request, template, status=LINK_STATUS[problem], problem=problem, **context)
