"""The benchmark: wsgiauth under gunicorn and wrk, against a bare Werkzeug ceiling (see runner.py)."""
