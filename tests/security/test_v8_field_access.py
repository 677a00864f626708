"""ASVS 5.0 8.1.2: SECURITY.md's field-level access table names every column of the real schema."""

import re

import pytest
from test_policy import SECURITY_MD

SECTION = "## Who reads and changes each field"


def documented():
    """Return ({table: {columns named in the table}}, {tables named as no account fields}) from SECURITY.md."""
    text = SECURITY_MD.read_text(encoding="utf-8")
    section = text[text.index(SECTION):].split("\n## ", 1)[0]
    after = section.partition("| Fields | Read by | Changed by |")[2]
    fields = {}
    for line in after.split("\n\n", 1)[0].splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 3 and all(cells), line  # every field says who reads it and who changes it
        for name, column in re.findall(r"`([a-z_]+)\.([a-z_]+)`", cells[0]):
            fields.setdefault(name, set()).add(column)
    others = section[section.index("Not account fields"):]
    return fields, set(re.findall(r"`([a-z_]+)`", others))


@pytest.mark.both_databases
def test_every_column_of_the_schema_is_in_the_field_access_table(app, query):
    """8.1.2: a new column (or table) fails this test until SECURITY.md says who may read and change it."""
    schema = {}
    for row in query(f"schema_columns_{app.db.dialect}_for_tests"):
        schema.setdefault(row["table_name"], set()).add(row["column_name"])
    fields, others = documented()
    assert set(fields) == {"users", "sessions", "pending_signins", "totp_factors", "recovery_codes", "passkeys",
                           "groups", "group_members", "security_events", "contact_messages"}
    assert set(schema) - set(fields) - others == set()  # every table: account fields, or said not to be
    for table, columns in fields.items():
        assert columns == schema[table], (table, schema[table] - columns, columns - schema[table])
    assert others - {"sqlite_sequence"} <= set(schema)
