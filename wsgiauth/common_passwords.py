"""The list of common passwords that nobody may choose (ASVS 2.1.7), loaded once per process.

NOTICE: data/common-passwords.txt.gz is Django's list (django/contrib/auth/, BSD-3-Clause,
Copyright (c) Django Software Foundation and individual contributors; created by Royce
Williams). Its licence is in data/common-passwords.LICENSE, which must travel with it.
"""

import gzip
from pathlib import Path

from .passwords import normalize

LIST_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"


def fold(password: str) -> str:
    """Return the form a password is compared in: NFKC, case-folded, without surrounding spaces."""
    # "Password", "PASSWORD " and a full-width "ｐａｓｓｗｏｒｄ" are all the same
    # guess to an attacker. Only the comparison folds: the password is hashed
    # as typed (ASVS 2.1.3), so folding here never weakens what is stored.
    return normalize(password).casefold().strip()


def load(path: Path = LIST_FILE) -> frozenset:
    """Return the folded entries of the gzipped list at path, one per line."""
    # All 19,640 entries: ~1.6 MiB per process (README, "Security"). Keeping
    # only those of 8+ characters would save 0.6 MiB, but "qwerty  " (two
    # spaces) is 8 characters long and folds to a 6-character entry.
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return frozenset(filter(None, (fold(line.rstrip("\n")) for line in lines)))


def is_common(password: str, common: frozenset) -> bool:
    """Say whether password is on the common list (as loaded by load)."""
    return fold(password) in common
