"""Pages anyone can see: home, about, and the static files (stylesheet, script, icon)."""

import hashlib
import importlib.resources
import re

from werkzeug.exceptions import NotFound
from werkzeug.utils import send_from_directory

STATIC_DIR = importlib.resources.files("wsgiauth") / "static"

# A name that carries a content hash: style.3f9a1c2b.css is style.css.
HASHED_NAME = re.compile(r"(?P<stem>.+)\.[0-9a-f]{8}(?P<ext>\.[^.]+)?")

# A hashed name's content never changes, so a browser or CDN may keep it a
# year without asking again; any other name is kept briefly, so a new
# release reaches those who use it within minutes.
LONG_CACHE = 31536000
SHORT_CACHE = 300


def hashed_name(name, content) -> str:
    """Return name with 8 hex digits of content's SHA-256 before its extension: style.css -> style.3f9a1c2b.css."""
    digest = hashlib.sha256(content).hexdigest()[:8]
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot and stem else f"{name}.{digest}"


class StaticFiles:
    """The static files of a directory and their hashed names, read once when the app is made."""

    def __init__(self, directory):
        self.directory = directory
        # The URL name of each file (style.css -> style.3f9a1c2b.css), and back.
        self.hashed = {path.name: hashed_name(path.name, path.read_bytes())
                       for path in directory.iterdir() if path.is_file()}
        self.by_hash = {hashed: name for name, hashed in self.hashed.items()}

    def resolve(self, filename):
        """Return (the file to send, whether its URL is the current hashed one); the file is None if unknown."""
        if filename in self.by_hash:
            return self.by_hash[filename], True
        if filename in self.hashed:
            return filename, False
        # Another version's hash: a page made before a deploy, or by a
        # server that runs the other release while a rolling deploy goes
        # through several. Today's file keeps that page styled; a 404
        # would not. Cached briefly, as the URL does not name its content.
        match = HASHED_NAME.fullmatch(filename)
        name = match and match["stem"] + (match["ext"] or "")
        return (name, False) if name in self.hashed else (None, False)


def home(app, request):
    """Show the welcome page."""
    # The same for every anonymous visitor (render() decides who that is).
    return app.render(request, "home.html", shared=True)


def about(app, request):
    """Show what wsgiauth is, for whom, and how it is built."""
    return app.render(request, "about.html")


def static(app, request, filename):
    """Serve a static file: a year's cache under its hashed name, 5 minutes under any other."""
    files = app.static_files
    name, current = files.resolve(filename)
    if name is None:  # only the files listed when the app was made: no ../, no directories
        raise NotFound()
    # send_from_directory still answers ETag/If-None-Match (304) and Range,
    # and names the charset of text (ASVS 5.0 4.1.1).
    response = send_from_directory(str(files.directory), name, request.environ,
                                   max_age=LONG_CACHE if current else SHORT_CACHE)
    # Werkzeug adds Expires from its own time.time(), a second clock; max-age
    # alone says the same to every HTTP/1.1 cache (RFC 9111 5.3).
    response.headers.pop("Expires", None)
    if current:
        # Browsers do not even revalidate on reload (RFC 8246).
        response.cache_control.immutable = True
    return response
