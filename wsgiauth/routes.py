"""The URL map: every URL the app answers, and the view function behind each endpoint."""

from werkzeug.routing import Map, Rule

from .views import accounts, contact, pages

# Endpoint name -> view(app, request, **values) -> Response. Written out in
# full so a reader sees every page in one place; nothing registers itself.
VIEWS = {
    "static": pages.static,
    "home": pages.home,
    "about": pages.about,
    "contact": contact.contact,
    "contact_sent": contact.contact_sent,
    "signup": accounts.signup,
    "signin": accounts.signin,
    "profile": accounts.profile,
    "signout": accounts.signout,
    "signout_others": accounts.signout_others,
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
            Rule("/signout/others", endpoint="signout_others", methods=["POST"]),
            Rule("/static/<path:filename>", endpoint="static", methods=["GET"]),
        ]
    )
