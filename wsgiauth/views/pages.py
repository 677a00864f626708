"""Pages anyone can see: home, about, and the static files (stylesheet, script, icon)."""

import importlib.resources

from werkzeug.utils import send_from_directory

STATIC_DIR = importlib.resources.files("wsgiauth") / "static"


def home(app, request):
    """Show the welcome page."""
    return app.render(request, "home.html")


def about(app, request):
    """Show what wsgiauth is, for whom, and how it is built."""
    return app.render(request, "about.html")


def static(app, request, filename):
    """Serve a file from wsgiauth/static (safe_join inside: no ../ escapes)."""
    return send_from_directory(str(STATIC_DIR), filename, request.environ, max_age=3600)
