"""ASVS 5.0 V14 Data Protection: every table of the schema is classified in SECURITY.md."""

import re

from support import BACKTICKED, ROOT, inventory_table

CREATE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?[`\"]?(\w+)", re.IGNORECASE)
DROP = re.compile(r"DROP TABLE (?:IF EXISTS )?[`\"]?(\w+)", re.IGNORECASE)


def test_14_1_1_every_table_of_the_schema_is_in_the_data_inventory():
    """ASVS 5.0 14.1.1, 14.1.2 (L2): SECURITY.md's data table classifies exactly the tables the migrations make
    (on both dialects), each with its protection, what is logged and how long it is kept."""
    for dialect in ("sqlite", "mysql"):
        created, dropped = set(), set()
        for path in sorted((ROOT / "sql" / "migrations").glob(f"*.{dialect}.sql")):
            sql = path.read_text(encoding="utf-8")
            created.update(CREATE.findall(sql))
            dropped.update(DROP.findall(sql))
        rows = inventory_table("Table")
        listed = {name for row in rows for name in BACKTICKED.findall(row[0])}
        assert listed == created - dropped, dialect
        assert all(len(row) == 5 and all(row) for row in rows)
