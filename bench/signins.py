"""The sign-in cases: full sign-ins against the hash-bound maximum, with few and with many users."""

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from . import report
from .load import Load, merged
from .seed import PASSWORD, anonymous_form, signin_body
from .targets import P50_GROWTH_MAX, SIGNIN_POST_MIN


class SignIns:
    """POST /signin on one app per user count, in slices that take turns."""

    def __init__(self, bench, name, apps):
        self.bench = bench
        self.name = name
        self.apps = apps  # [(users, gunicorn server)], fewest users first
        self.hash_seconds = []

    def load(self, users, app):
        """Return the Load signing in random users among `users`, with one cookie and token for all."""
        # A sign-in replaces the session it came with by a new one, and this
        # cookie's own id never has a row, so the pair stays valid throughout.
        cookie, token = anonymous_form(app.base_url)
        # One connection per worker: each sign-in is CPU-bound, so more
        # connections would only add queueing to the latency.
        return Load("POST", "/signin", 303, self.bench.workers, cookie=cookie, body=signin_body(token), users=users,
                    many_clients=True)

    def time_hash(self):
        """Time one password check on every core at once, here, while the servers are idle."""
        # The servers hash on every core at once, and two scrypt hashes of
        # 32 MiB each share the cache and the memory bus: the bound is what
        # the cores do hashing together. (hashlib releases the GIL, so
        # threads hash in parallel.) One sample per core also halves the noise.
        def one(_):
            began = time.perf_counter()
            self.bench.passwords.check(self.bench.pwdhash, PASSWORD)
            return time.perf_counter() - began

        with ThreadPoolExecutor(self.bench.cores) as pool:
            self.hash_seconds.extend(pool.map(one, range(self.bench.cores)))

    def rows(self) -> list:
        """Run the slices and return one table row per user count."""
        loads = [self.load(users, app) for users, app in self.apps]
        for (_, app), load in zip(self.apps, loads):
            self.bench.warm_up(app, load)
            app.wait_until_idle()
        # 5 s slices: a sign-in wrk gives up on at the end of a slice is
        # wasted work, which must stay small against the slice.
        rounds = max(1, self.bench.options.duration // 5)
        seconds = max(1, self.bench.options.duration // rounds)
        runs = [[] for _ in self.apps]
        for _ in range(rounds):
            for (_, app), load, done in zip(self.apps, loads, runs):
                self.time_hash()
                done.append(self.bench.run(app, load, seconds))
                app.wait_until_idle()
        self.time_hash()
        bound = self.bench.cores / statistics.median(self.hash_seconds)
        rows = []
        for (users, app), done in zip(self.apps, runs):
            result = merged(done)
            checks = [report.at_least(result.rps / bound, SIGNIN_POST_MIN, f"hash-bound {bound:,.1f}/s")]
            if rows:
                fewest = rows[0].result.p50_ms
                checks.append(report.at_most(result.p50_ms / fewest, P50_GROWTH_MAX, f"{self.apps[0][0]:,} users"))
            rows.append(report.Row(self.name, f"POST /signin, {users:,} users", result, app.worker_rss_mib(), checks))
        return rows

