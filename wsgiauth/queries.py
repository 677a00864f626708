"""Named SQL queries: loaded once from sql/*.sql, never built from user input."""

import re
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

# A query starts at a line "-- name: some_name" and runs to the next one.
_NAME_LINE = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
# Parameters are written :name in the .sql files (SQLite's own style).
_PARAM = re.compile(r"(?<![:\w]):([a-zA-Z_]\w*)")


def parse_named_queries(text: str) -> dict:
    """Split one .sql file into {name: statement}."""
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
    """Rewrite :name parameters as %(name)s, the style PyMySQL binds."""
    # A literal % must be doubled, or PyMySQL would read it as a placeholder.
    return _PARAM.sub(r"%(\1)s", statement.replace("%", "%%"))


def load_queries(dialect: str, sql_dir: Path = SQL_DIR, extra_files=()) -> dict:
    """Load queries.sql, then queries.<dialect>.sql and any extra files (tests' own)."""
    queries = parse_named_queries((sql_dir / "queries.sql").read_text(encoding="utf-8"))
    for path in [sql_dir / f"queries.{dialect}.sql", *extra_files]:
        if Path(path).exists():
            queries.update(parse_named_queries(Path(path).read_text(encoding="utf-8")))
    if dialect == "mysql":
        queries = {name: to_pyformat(sql) for name, sql in queries.items()}
    return queries


def split_script(text: str) -> list:
    """Split a migration file into statements (one per ';' at a line's end)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    statements = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [s.strip() for s in statements if s.strip()]
