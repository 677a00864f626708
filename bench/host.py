"""A host app of a few lines, bare and behind wsgiauth's gate: the yardstick for the gate's cost."""

import wsgiauth


def hello(environ, start_response):
    """Greet whoever the gate says is signed in, as a host app of a few lines would."""
    body = f"Hello, {environ.get('REMOTE_USER', 'stranger')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def create_bare():
    """Return the host app alone."""
    return hello


def create_gated():
    """Return the host app behind the gate (settings from WSGIAUTH_* variables), wsgiauth under /accounts."""
    return wsgiauth.gate(hello)
