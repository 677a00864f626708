"""Issue 18's targets, in one table: each case, whom it is measured as, and the share of which ceiling it must reach."""

import dataclasses

# Who sends a case's requests.
ANONYMOUS = "anonymous"  # no cookie
SIGNED_IN = "signed in"  # user 1, signed in once before the first case
# Signed in again just before the case: its page needs Confirm access
# (routes.CONFIRMED), and signing in counts as confirming it for
# WSGIAUTH_CONFIRM_ACCESS_MINUTES (10 by default), longer than the case.
FRESH = "signed in just before"
GATED = "signed in, behind the gate"  # a host app page (bench/host.py)

# What a case's requests/s are a share of (ceiling.py).
PAGE = "page"  # the page ceiling: a bare Werkzeug page
DB = "db"  # the database-bound ceiling: that page plus one primary-key SELECT


@dataclasses.dataclass(frozen=True)
class Case:
    """One page case: a GET, who sends it, and its target as a share of a ceiling's requests/s."""

    name: str  # the table's Case cell
    path: str
    visitor: str
    yardstick: str
    minimum: float


# Pages anyone opens without a session are held to the page ceiling; a page
# that must look its session up cannot beat the database-bound one, which is
# that round trip and nothing else. The same targets on SQLite and MariaDB.
CASES = [
    Case("GET /signin", "/signin", ANONYMOUS, PAGE, 0.75),
    Case("GET / (home)", "/", ANONYMOUS, PAGE, 0.75),
    Case("GET /profile", "/profile", SIGNED_IN, DB, 0.70),
    Case("GET /account", "/account", FRESH, DB, 0.50),
    Case("GET /security", "/security", FRESH, DB, 0.50),
    Case("GET /auth/verify", "/auth/verify", SIGNED_IN, DB, 0.80),
    Case("GET / behind the gate, signed in", "/", GATED, DB, 0.70),
]
SIGNIN_POST_MIN = 0.90  # POST /signin: of the hash-bound maximum
P50_GROWTH_MAX = 1.1  # POST /signin: the most users' p50 against the fewest users' p50
RSS_LIMIT_MIB = 40  # every worker of every server, once idle after its case
