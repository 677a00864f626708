"""Real servers for tests: start a process on a free loopback port, and talk HTTP to it."""

import contextlib
import http.cookiejar
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from helpers import csrf_token_in


def wait_for_http(url, process, timeout=30.0, log=None):
    """Wait until url answers, or fail with the process's output if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else log.read_text(errors="replace")
            raise AssertionError(f"server exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def running(command, port, env=None, cwd=None, timeout=30.0, log=None, ready="/"):
    """Run a server command until the block ends; yield its base URL.

    log: a pathlib.Path for the server's output. Give one for servers that
    answer many requests: a pipe nobody reads fills up and blocks the server.
    ready: the path that answers once the server is up (e.g. behind a proxy).
    """
    full_env = {**os.environ, **(env or {})}
    with open(log, "w") if log else contextlib.nullcontext(subprocess.PIPE) as output:
        process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=output,
                                   stderr=subprocess.STDOUT, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base_url + ready, process, timeout, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand redirects back to the test instead of following them."""

    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A minimal HTTP client with a cookie jar, for servers running in another process."""

    def __init__(self, base_url, headers=None, timeout=30):
        """headers: sent with every request (e.g. X-Forwarded-For as a proxy would add it)."""
        self.base_url = base_url
        self.headers = headers or {}
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect())

    def request(self, path, data=None, headers=None):
        """GET (or POST a form when data is given), with extra headers if given; return (status, headers, text)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body, headers={**self.headers, **(headers or {})})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def submit(self, path, data):
        """Load the form at path for its CSRF token, then post data to it."""
        _, _, page = self.request(path)
        return self.request(path, {**data, "csrf_token": csrf_token_in(page)})
