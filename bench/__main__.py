"""`python -m bench` from the repository's root: the benchmark's command line (see README)."""

import argparse
import logging
import sys

from . import runner


def main(argv=None) -> int:
    """Parse the benchmark's options and run it."""
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="measure requests/s under gunicorn and wrk (see README)")
    runner.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return runner.main(args)


if __name__ == "__main__":
    sys.exit(main())
