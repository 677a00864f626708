"""A host app behind wsgiauth's gate: the same file under gunicorn, waitress, uWSGI and mod_wsgi."""

from pathlib import Path

import wsgiauth

HERE = Path(__file__).resolve().parent  # the site's folder, whatever the server's working directory


def hello(environ, start_response):
    """Greet whoever the gate says is signed in."""
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"Hello, {environ.get('REMOTE_USER', 'stranger')}".encode()]


# Settings in a dict, not WSGIAUTH_* variables: mod_wsgi's SetEnv never
# reaches os.environ, and this way every server reads the same ones.
application = wsgiauth.gate(hello, {
    "SECRET_KEY": (HERE / "secret_key").read_text().strip(),
    "DATABASE": f"sqlite:///{HERE / 'site.db'}",
    "MAIL_URL": f"file://{HERE / 'outbox'}",
}, protect=["/reports"])
