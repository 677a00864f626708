"""The package as an operator installs it: the wheel, built once per session, in venvs outside the checkout.

Fixtures (loaded by conftest.py through `pytest_plugins`):

- `wheel`: the path of `wsgiauth-*.whl`, built from this checkout with `pip wheel --no-deps`.
- `wheel_venv`: a venv of the tests' Python with the wheel and gunicorn installed.

Each venv is made once per session and shared by the tests that serve from it.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
    """Return a venv of the tests' Python holding the wheel and gunicorn."""
    return make_venv(sys.executable, tmp_path_factory.mktemp("venv") / "venv", wheel, "gunicorn")

