"""SECURITY.md's ASVS 5.0.0 map cannot rot: every test, function and file it names exists.

Reads the tables of the section "ASVS 5.0.0 map" (one per chapter), and for each row checks its
"Tests" and "Code" cells: a `tests/….py::test_name` must be a test function defined in that file, a
`wsgiauth/….py:name` (or `:Class.method`) a function, class, method or module-level name defined in
that file (found by parsing it with ast, nothing is imported), and any other `path/with.ext` a file
of the repository. A backticked word that is none of these is an error too, so a typo cannot hide.
"""

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECURITY_MD = ROOT / "SECURITY.md"
SECTION = "## ASVS 5.0.0 map"
CHAPTERS = ("V1", "V2", "V3", "V6", "V7", "V8", "V11", "V13", "V14", "V16")  # the chapters re-mapped so far (issue 17)
HEADER = ["ID", "Level", "Requirement (short)", "Applies", "Tests", "Code"]

TEST_REF = re.compile(r"(tests/[\w/.-]+\.py)::(\w+)")
CODE_REF = re.compile(r"([\w/.-]+\.py):([\w.]+)")
FILE_REF = re.compile(r"[\w.-]+(/[\w.-]+)+")
BACKTICKED = re.compile(r"`([^`]+)`")


def section() -> str:
    text = SECURITY_MD.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end != -1 else len(text)]


def tables() -> dict:
    """Return {chapter heading: [row as a dict of header -> cell]} for each table of the section."""
    found, heading, rows, header = {}, None, None, None
    for line in section().splitlines():
        if line.startswith("### "):
            heading, rows, header = line[4:].strip(), None, None
        elif line.startswith("|") and heading:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if header is None:
                header, rows = cells, []
                found[heading] = rows
            elif not set("".join(cells)) <= set("-: "):
                rows.append(dict(zip(header, cells)))
    return found


def rows() -> list:
    return [(heading, row) for heading, table in tables().items() for row in table]


@lru_cache(maxsize=None)
def names_in(path: Path) -> frozenset:
    """Return the names a Python file defines: top-level functions, classes, assignments, and Class.method."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(f"{node.name}.{item.name}" for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    return frozenset(names)


@lru_cache(maxsize=None)
def defined_tests(path: Path) -> frozenset:
    """Return the test functions a test file defines at its top level (what pytest collects from it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return frozenset(node.name for node in tree.body
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"))


# A reference to a definition: its pattern, the column it belongs in, what its file must define, and how it is called.
DEFINITION_REFS = ((TEST_REF, "Tests", defined_tests, "test function"), (CODE_REF, "Code", names_in, "name"))


def problems_in(cell: str, column: str) -> list:
    """Return what is wrong with the references of one Tests or Code cell."""
    problems = []
    for ref in BACKTICKED.findall(cell):
        for pattern, home, defined, kind in DEFINITION_REFS:
            if match := pattern.fullmatch(ref):
                path, name = ROOT / match[1], match[2]
                if column != home:
                    problems.append(f"{ref}: a {kind} reference in the {column} column")
                elif not path.is_file():
                    problems.append(f"{ref}: no file {match[1]}")
                elif name not in defined(path):
                    problems.append(f"{ref}: no {kind} {name} in {match[1]}")
                break
        else:
            if FILE_REF.fullmatch(ref) and "." in ref.rsplit("/", 1)[-1]:
                if not (ROOT / ref).is_file():
                    problems.append(f"{ref}: no such file")
            elif column == "Tests":
                problems.append(f"{ref}: not a tests/….py::test_name reference")
            elif not re.fullmatch(r"[A-Z_]+|[a-z_]+", ref):  # a name quoted in passing (`CONFIRMED`)
                problems.append(f"{ref}: not a path:function reference")
    return problems


def test_the_map_has_a_table_per_chapter_with_the_agreed_columns():
    found = tables()
    assert [heading.split()[0] for heading in found] == list(CHAPTERS)
    text = section()
    for heading in found:
        header_line = text[text.index(f"### {heading}"):].split("\n| ", 1)[1].split("\n", 1)[0]
        assert [cell.strip() for cell in ("| " + header_line).strip().strip("|").split("|")] == HEADER
    for heading, row in rows():
        chapter = heading.split()[0][1:]
        assert re.fullmatch(rf"{chapter}\.\d+\.\d+", row["ID"]), row["ID"]
        assert row["Level"] in ("1", "2"), row["ID"]
        assert re.match(r"(\*\*)?(yes|no|partly)\b", row["Applies"]), row["ID"]


def test_each_requirement_is_mapped_once():
    ids = [row["ID"] for _, row in rows()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("column", ["Tests", "Code"])
def test_every_reference_in_the_map_exists(column):
    problems = [f"{row['ID']}: {problem}" for _, row in rows() for problem in problems_in(row[column], column)]
    assert problems == []


def test_a_requirement_that_applies_names_a_test():
    missing = [row["ID"] for _, row in rows()
               if row["Applies"].startswith("yes") and not TEST_REF.search(row["Tests"])]
    assert missing == []


def test_the_checker_catches_what_rots():
    assert problems_in("`tests/security/test_policy.py::test_no_such_test`", "Tests")
    assert problems_in("`tests/no_such_file.py::test_x`", "Tests")
    assert problems_in("`wsgiauth/sessions.py:SessionStore.no_such_method`", "Code")
    assert problems_in("`wsgiauth/sessions.py:no_such_function`", "Code")
    assert problems_in("`templates/no_such.html`", "Code")
    assert problems_in("test_policy.py::test_x", "Tests") == []  # not backticked: prose, not checked
    assert problems_in("`test_policy.py::test_every_limit_of_the_code_is_in_security_md_with_its_figures`", "Tests")
    assert problems_in("`wsgiauth/sessions.py:SessionStore.begin`, `wsgiauth/routes.py:CONFIRMED`", "Code") == []
