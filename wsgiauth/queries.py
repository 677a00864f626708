"""Named SQL queries: loaded once from sql/*.sql, never built from user input."""

import importlib.resources
import re
from pathlib import Path

# sql/ ships inside the package as wsgiauth.sql (setup.cfg): the same place
# from a checkout, an editable install or a wheel, never the working directory.
SQL_DIR = importlib.resources.files("wsgiauth.sql")

# A query starts at a line "-- name: some_name" and runs to the next one.
_NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
# A string literal ('...' or "...", quotes doubled or backslash-escaped
# inside), or a parameter written :name outside one. A colon inside a
# literal ('10:30'), after another colon (a cast, ::int) or after a word
# character is not a parameter.
_LITERAL_OR_PARAM = re.compile(r"""('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")|(?<![:\w]):([A-Za-z_]\w*)""")


def parse_named_queries(text: str) -> dict:
    """Split one .sql file into {name: statement}; a name used twice is an error."""
    parts = _NAME_LINE.split(text)
    queries = {}
    # parts = [preamble, name1, body1, name2, body2, ...]
    for name, body in zip(parts[1::2], parts[2::2]):
        lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
        statement = "\n".join(lines).strip().rstrip(";").strip()
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = statement
    return queries


def to_pyformat(statement: str) -> str:
    """Rewrite :name parameters as %(name)s, the style PyMySQL binds, leaving string literals alone."""
    def rewrite(match):
        literal, name = match.groups()
        return literal if literal is not None else f"%({name})s"

    # PyMySQL formats the whole statement with %: a literal % must be
    # doubled, inside string literals too.
    return _LITERAL_OR_PARAM.sub(rewrite, statement.replace("%", "%%"))


def load_queries(dialect: str, sql_dir=SQL_DIR, extra_files=()) -> dict:
    """Load queries.sql, queries.<dialect>.sql and any extra files (tests' own); a name in two files is an error."""
    queries, origin = {}, {}
    for path in [sql_dir / "queries.sql", sql_dir / f"queries.{dialect}.sql", *map(Path, extra_files)]:
        if not path.is_file():
            continue
        for name, statement in parse_named_queries(path.read_text(encoding="utf-8")).items():
            if name in queries:
                # Not a silent override: a dialect's version of a common
                # query belongs in both dialect files, not in two places.
                raise ValueError(f"query {name!r} is defined in {origin[name]} and again in {path.name}")
            queries[name], origin[name] = statement, path.name
    if dialect == "mysql":
        queries = {name: to_pyformat(sql) for name, sql in queries.items()}
    return queries


def split_script(text: str) -> list:
    """Split a migration file into statements (one per ';' at a line's end)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    statements = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [s.strip() for s in statements if s.strip()]
