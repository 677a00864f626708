"""HOW-IT-WORKS.md, the guided tour: every `path:name` it names exists, so the tour cannot rot."""

import ast
import re
from pathlib import Path

from wsgiauth.queries import parse_named_queries

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "HOW-IT-WORKS.md"
# A reference in backticks: `wsgiauth/app.py:WSGIAuth.wsgi_app`, `sql/queries.sql:insert_user`.
REFERENCE = re.compile(r"`([\w./-]+\.(?:py|sql)):([A-Za-z_][\w.]*)`")
# Fewer than this and the tour has lost its walk through the code.
AT_LEAST = 25


def references() -> list:
    """Return every (path, name) the tour names, in order, without repeats."""
    return list(dict.fromkeys(REFERENCE.findall(TOUR.read_text(encoding="utf-8"))))


def names_in(body) -> dict:
    """Return {name: node} of the functions, classes and assigned names defined directly in body."""
    found = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.Assign):
            found.update((target.id, node) for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = node
    return found


def python_has(path: Path, dotted: str) -> bool:
    """Say whether the module at path defines dotted: a top-level name, or Class.method (any depth)."""
    body = ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body
    for part in dotted.split("."):
        node = names_in(body).get(part)
        if node is None:
            return False
        body = getattr(node, "body", [])
    return True


def sql_has(path: Path, name: str) -> bool:
    """Say whether the .sql file at path has a query `-- name: <name>`."""
    return name in parse_named_queries(path.read_text(encoding="utf-8"))


def missing(refs) -> list:
    """Return the references (as written) whose file or name does not exist."""
    gone = []
    for path, name in refs:
        file = ROOT / path
        exists = file.is_file() and (python_has(file, name) if path.endswith(".py") else sql_has(file, name))
        if not exists:
            gone.append(f"{path}:{name}")
    return gone


def test_every_reference_exists():
    assert missing(references()) == []


def test_the_tour_names_enough_code():
    refs = references()
    assert len(refs) >= AT_LEAST, f"only {len(refs)} references"
    assert {path for path, _ in refs} >= {"wsgiauth/app.py", "wsgiauth/sessions.py", "wsgiauth/tokens.py",
                                          "wsgiauth/outbox.py", "wsgiauth/passwords.py", "sql/queries.sql"}


def test_readme_and_about_page_link_to_the_tour():
    assert "(HOW-IT-WORKS.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "HOW-IT-WORKS.md" in (ROOT / "templates" / "about.html").read_text(encoding="utf-8")
