"""The benchmark: wsgiauth under gunicorn and wrk, against a bare Werkzeug ceiling (see runner.py)."""

from pathlib import Path

# The benchmark's own named queries, run besides the app's (Database's query_files).
QUERIES = Path(__file__).with_name("queries.sql")
