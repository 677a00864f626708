"""Run wsgiauth for development: `python serve.py [--host 127.0.0.1] [--port 5000]`, the same as `wsgiauth serve`.

It keeps its state under ./instance/ (an SQLite database and a secret key made on first run):
see wsgiauth/devserver.py. Production runs under a real WSGI server (README).
"""

import sys

from wsgiauth.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
