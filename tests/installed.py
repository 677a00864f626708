"""The package as an operator installs it: the wheel, built once per session, in venvs outside the checkout.

Fixtures (loaded by conftest.py through `pytest_plugins`):

- `wheel`: the path of `wsgiauth-*.whl`, built from this checkout with `pip wheel --no-deps`.
- `wheel_venv`: a venv of the tests' Python with the wheel, gunicorn and waitress installed.
- `debian_venv`: a venv of Debian's `/usr/bin/python3` (the Python that Debian's mod_wsgi and
  uWSGI python3 plugin embed) with the wheel installed, in `web_root`.
- `web_root`: a folder the web server's user (www-data) can read, for what Apache's processes open.

Each venv is made once per session and shared by the tests that serve from it.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_PYTHON = "/usr/bin/python3"


def run(command, **kwargs):
    """Run a command, failing the test with its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


def make_venv(python, folder, wheel, *packages):
    """Make a venv at folder with python, install the wheel and packages into it, and return folder."""
    run([python, "-m", "venv", str(folder)])
    run([str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel), *packages])
    return folder


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """Build the wheel from this checkout once per session; return its path."""
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(ROOT)])
    (built,) = dist.glob("wsgiauth-*.whl")
    return built


@pytest.fixture(scope="session")
def wheel_venv(wheel, tmp_path_factory):
    """Return a venv of the tests' Python holding the wheel, gunicorn and waitress."""
    return make_venv(sys.executable, tmp_path_factory.mktemp("venv") / "venv", wheel, "gunicorn", "waitress")


@pytest.fixture(scope="session")
def web_root():
    """Yield a folder that every user may enter (www-data too), removed at the end of the session."""
    # pytest's own temporary folders are private to root (mode 0700), and
    # Apache's workers and mod_wsgi's daemons run as www-data: what they open
    # must sit below a folder they can enter.
    folder = Path(tempfile.mkdtemp(prefix="wsgiauth-www-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture(scope="session")
def debian_venv(wheel, web_root):
    """Return a venv of Debian's /usr/bin/python3 holding the wheel."""
    if not os.access(DEBIAN_PYTHON, os.X_OK):
        skip_or_fail(f"Debian's Python is not at {DEBIAN_PYTHON}: mod_wsgi and uWSGI embed it")
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import ensurepip"], capture_output=True)
    if probe.returncode != 0:
        skip_or_fail(f"{DEBIAN_PYTHON} cannot make a venv: apt-get install -y python3-venv")
    return make_venv(DEBIAN_PYTHON, web_root / "venv", wheel)
