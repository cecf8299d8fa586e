"""Several `watcher run` processes on one PostgreSQL database (README, Scale-out): three
daemons, each with its own state directory and port, watch a site of 500 releases in three
sources and do the work of one: each due check once per period and on one daemon at a time,
the host's limits held across them, each edit stored and mailed once, every daemon's feeds
showing every change; a daemon killed mid-check has its checks taken over within the lease
expiry, and done again once."""

from __future__ import annotations

import email
import itertools
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    BODY,
    POSTS,
    DaemonProcess,
    free_port,
    listening,
    mail_settings,
    wait_for,
    wordpress_source,
    write_config,
)
from tests.mailserver import MailServer
from tests.pg import PostgresServer
from tests.sim.wordpress import SimWordPress
from watcher.models import ChangeKind, CheckResult
from watcher.store import Store

SOURCES = {"news": "news", "statements": "statements-meetings", "speeches": "speeches"}
EVERY = 3.0  # seconds between a source's checks
LIMIT = 2  # per_host_concurrency
MIN_DELAY = 0.1  # seconds between the starts of two requests to the host
PERIODS = 5  # measured
EDITED = [3, 4, 5, 250, 251, 499]  # two releases of each source


def fill(site: SimWordPress, count: int = 500) -> list[int]:
    """`count` releases published over the past year, spread over the three categories."""
    old = datetime(2025, 1, 1, tzinfo=UTC)
    ids = []
    categories = list(SOURCES.values())
    for n in range(count):
        when = old + timedelta(hours=n)
        category = categories[n % len(categories)]
        ids.append(site.add_post(f"Release {n}", BODY, categories=[category], date_gmt=when))
        site.set_modified(ids[-1], when)
    # a request to the API outlasts MIN_DELAY: requests from several daemons would overlap
    site.delays[POSTS] = 3 * MIN_DELAY
    return ids


def settings(site: SimWordPress, database: str, port: int, **extra: Any) -> dict[str, Any]:
    sources = [
        wordpress_source(site, name=name, categories=[category], every=f"{EVERY:g}s", jitter="1s")
        for name, category in SOURCES.items()
    ]
    return {
        "sources": sources,
        "database": database,
        "http": {"per_host_concurrency": LIMIT, "min_delay": f"{MIN_DELAY:g}s"},
        "log_level": "DEBUG",  # each request's start, as the politeness limits gave it
        **listening(port),
        **extra,
    }


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    """start(site, database, **settings): one more daemon, in a directory of its own."""
    started: list[DaemonProcess] = []

    def make(site: SimWordPress, database: str, **extra: Any) -> DaemonProcess:
        directory = tmp_path / f"daemon-{len(started)}"
        directory.mkdir()
        port = free_port()
        values = settings(site, database, port, **extra)
        config = write_config(directory, values.pop("sources"), **values)
        daemon = DaemonProcess(config, port, directory / "daemon.log")
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        daemon.close()


@pytest.fixture
def second_database(postgres: PostgresServer) -> Iterator[str]:
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


def baselines_done(url: str) -> bool:
    store = Store.open(url)
    try:
        statuses = store.statuses()
        return len(statuses) == len(SOURCES) and all(s.baseline_done for s in statuses)
    finally:
        store.close()


def runs(url: str) -> dict[str, list[CheckResult]]:
    store = Store.open(url)
    try:
        return {name: store.check_runs(name) for name in SOURCES}
    finally:
        store.close()


def timings(checks: list[CheckResult]) -> list[tuple[str, float, str]]:
    return [(f"{c.started_at:%H:%M:%S.%f}", round(c.seconds, 2), c.status.value) for c in checks]


def never_two_at_once(checks: list[CheckResult]) -> None:
    for before, after in itertools.pairwise(checks):
        ended = before.started_at + timedelta(seconds=before.seconds)
        assert ended <= after.started_at, (before, after)


@pytest.mark.slow
@pytest.mark.serial(reason="compares the requests of three daemons with one's, over time")
def test_three_daemons_do_the_work_of_one(
    postgres_url: str,
    second_database: str,
    start: Callable[..., DaemonProcess],
    smtp: MailServer,
) -> None:
    with SimWordPress() as alone_site, SimWordPress() as site:
        fill(alone_site)
        fill(site)
        alone = start(alone_site, second_database)
        mail = mail_settings(smtp.port, mode="instant")
        daemons = [start(site, postgres_url, **mail) for _ in range(3)]
        wait_for(
            lambda: baselines_done(second_database) and baselines_done(postgres_url),
            120,
            "the first checks",
        )
        for daemon in (alone, *daemons):
            wait_for(daemon.serving, what="the feed servers")

        # the same edits on both sites, and PERIODS periods of checks
        counted_from = (len(alone_site.hits), len(site.hits))
        since = datetime.now(UTC)
        for n in EDITED:
            for each in (alone_site, site):
                each.edit_post(100 + n, content=BODY + " Moscow and Russia agreed today.")
        time.sleep(PERIODS * EVERY)
        until = datetime.now(UTC)
        requests_alone = len(alone_site.hits) - counted_from[0]
        requests = len(site.hits) - counted_from[1]

        # the edits: stored once each, mailed once each, in every daemon's feeds
        store = Store.open(postgres_url)
        try:
            edited = [c for c in store.recent_changes(100) if c.kind == ChangeKind.EDITED]
            assert sorted(c.title for c in edited) == sorted(f"Release {n}" for n in EDITED)
            for change in edited:
                history = store.history(str(change.release_id))
                assert history is not None and history.release.versions == 2
            wait_for(lambda: not store.outbox(sent=False), what="the outbox to empty")
            assert len(store.outbox(sent=True)) == len(EDITED)
        finally:
            store.close()
        received = [email.message_from_bytes(r.raw, policy=policy.default) for r in smtp.received]
        by_change = Counter(m["X-Watcher-Change"] for m in received)
        assert sorted(by_change) == sorted(c.uid for c in edited)
        assert set(by_change.values()) == {1}  # each change once, under one Message-ID
        assert len({m["Message-ID"] for m in received}) == len(EDITED)
        wanted = {f"Edited: Release {n}" for n in EDITED}
        wait_for(
            lambda: all(wanted <= {e.title for e in d.entries()} for d in daemons),
            what="every edit in every daemon's feed",
        )

        for daemon in (alone, *daemons):
            assert daemon.stop() == 0

    # once per period, whichever daemon's timer fires first: as many checks as one daemon
    # makes (give or take the one under way at either end), never two of a source at once
    checks, checks_alone = runs(postgres_url), runs(second_database)
    runners = set()
    for name in SOURCES:
        mine = [c for c in checks[name] if since <= c.started_at < until]
        theirs = [c for c in checks_alone[name] if since <= c.started_at < until]
        assert abs(len(mine) - len(theirs)) <= 1, (name, timings(mine), timings(theirs))
        # a period lasts EVERY plus up to a second of jitter
        assert len(mine) >= PERIODS * EVERY // (EVERY + 1) - 1
        never_two_at_once(checks[name])
        runners |= {c.runner for c in checks[name]}
    assert len(runners) > 1  # the periods are shared out

    assert 0 < requests <= 1.2 * requests_alone, (requests, requests_alone)
    # the host's limits, across the daemons
    assert site.max_in_flight == LIMIT
    # the starts the daemons gave their requests to the host, together MIN_DELAY apart (when
    # they reach the site also depends on how busy the machine is, which is not theirs to keep)
    starts = sorted(
        datetime.fromisoformat(found)
        for daemon in daemons
        for found in re.findall(rf"GET {re.escape(site.url)}\S*, start (\S+)", daemon.log_text())
    )
    assert len(starts) >= requests
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= MIN_DELAY - 0.001  # logged to the millisecond


def pid_of(holder: str) -> int:
    return int(holder.split(":")[1])


@pytest.mark.slow
@pytest.mark.serial(reason="measures how soon a killed daemon's checks are taken over")
def test_a_killed_daemons_checks_are_taken_over_within_the_lease_expiry(
    postgres_url: str, start: Callable[..., DaemonProcess]
) -> None:
    expiry = 5.0
    with SimWordPress() as site:
        fill(site)
        daemons = [start(site, postgres_url, lease_expiry=f"{expiry:g}s") for _ in range(3)]
        wait_for(lambda: baselines_done(postgres_url), 120, "the first checks")
        store = Store.open(postgres_url)
        leases = store.leases("test", timedelta(minutes=1))
        assert leases is not None
        try:
            with site.releasing():
                site.hold(POSTS)  # every check now waits on the wire
                held = wait_for(leases.holders, what="a check under way")
                victim_pid = pid_of(next(iter(held.values())))
                victim = next(d for d in daemons if d.process.pid == victim_pid)
                os.kill(victim_pid, signal.SIGKILL)
                killed, killed_at = time.monotonic(), datetime.now(UTC)
                victim.process.wait(timeout=10)
                orphaned = sorted(n for n, h in leases.holders().items() if pid_of(h) == victim_pid)
            assert orphaned

            def taken_over() -> bool:
                """Each orphaned check claimed by a survivor (running now, or done)."""
                now, done = leases.holders(), runs(postgres_url)
                return all(
                    (name in now and pid_of(now[name]) != victim_pid)
                    or any(
                        c.started_at > killed_at and c.runner and pid_of(c.runner) != victim_pid
                        for c in done[name]
                    )
                    for name in orphaned
                )

            wait_for(taken_over, 60, "the checks to be taken over")
            elapsed = time.monotonic() - killed
        finally:
            store.close()
        # the lease lapses `expiry` after its last renewal, looked for every tenth of it; and
        # the survivors' checks wait for the database and the scheduler: two seconds at most
        assert elapsed <= expiry * 1.1 + 2, elapsed
        survivors = [d for d in daemons if d is not victim]
        logs = "".join(d.log_text() for d in survivors)
        for name in orphaned:
            assert logs.count(f"check {name}: taken over from") == 1  # done again once
        for name, checks in runs(postgres_url).items():
            never_two_at_once(checks)
            assert name in SOURCES
        for daemon in survivors:
            assert daemon.stop() == 0
