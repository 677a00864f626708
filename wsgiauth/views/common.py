"""What several views share: the page that answers a link from an email."""

from ..tokens import EXPIRED, INVALID, TAKEN, USED

# The status of a page opened from an email link, by what is wrong with the link.
LINK_STATUS = {None: 200, INVALID: 400, EXPIRED: 410, USED: 410, TAKEN: 409}


def link_page(app, request, template, problem, **context):
    """Render a page opened from a link in an email, with the status its problem calls for."""
    # Its URL holds the token: app.add_headers sends Referrer-Policy: no-referrer.
    return app.render(request, template, status=LINK_STATUS[problem], problem=problem, **context)
