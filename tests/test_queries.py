"""The named-query files: parsing, the :name rewrite for PyMySQL, and names defined twice."""

import pytest

from wsgiauth.queries import load_queries, parse_named_queries, split_script, to_pyformat


def test_a_file_splits_into_named_statements_without_comments():
    text = "-- preamble\n\n-- name: one\n-- about one\nSELECT 1;\n\n-- name: two_2\nSELECT :x\nFROM t;\n"
    assert parse_named_queries(text) == {"one": "SELECT 1", "two_2": "SELECT :x\nFROM t"}


def test_a_name_used_twice_in_a_file_is_an_error():
    with pytest.raises(ValueError, match="'one' is defined twice"):
        parse_named_queries("-- name: one\nSELECT 1;\n-- name: one\nSELECT 2;\n")


@pytest.mark.parametrize("sql, expected", [
    ("SELECT a FROM t WHERE b = :b AND c > :c_2", "SELECT a FROM t WHERE b = %(b)s AND c > %(c_2)s"),
    ("SELECT ':not_a_param', \"a:b\", 'it''s :x' FROM t WHERE a = :a",
     "SELECT ':not_a_param', \"a:b\", 'it''s :x' FROM t WHERE a = %(a)s"),
    ("SELECT 'back\\'slash :x' WHERE a = :a", "SELECT 'back\\'slash :x' WHERE a = %(a)s"),
    ("SELECT a::int, '10:30' WHERE b LIKE '5%' AND c = :c", "SELECT a::int, '10:30' WHERE b LIKE '5%%' AND c = %(c)s"),
    ("SELECT x FROM t WHERE y = 1", "SELECT x FROM t WHERE y = 1"),
])
def test_parameters_become_pyformat_but_string_literals_stay_as_written(sql, expected):
    assert to_pyformat(sql) == expected


def test_a_query_defined_in_two_files_is_an_error_at_start_up(tmp_path):
    (tmp_path / "queries.sql").write_text("-- name: shared\nSELECT 1;\n")
    (tmp_path / "queries.sqlite.sql").write_text("-- name: shared\nSELECT 2;\n")
    with pytest.raises(ValueError, match="'shared' is defined in queries.sql and again in queries.sqlite.sql"):
        load_queries("sqlite", sql_dir=tmp_path)


def test_the_shipped_files_load_for_both_dialects_and_bind_every_parameter():
    for dialect in ("sqlite", "mysql"):
        queries = load_queries(dialect)
        assert "session_user" in queries and "on_connect" in queries
    assert "%(id_hash)s" in load_queries("mysql")["session_user"]


def test_a_migration_script_splits_at_semicolons_that_end_a_line():
    script = "-- comment; not a statement\nCREATE TABLE a (x INT);\nINSERT INTO a VALUES (1);  \n"
    assert split_script(script) == ["CREATE TABLE a (x INT)", "INSERT INTO a VALUES (1)"]
