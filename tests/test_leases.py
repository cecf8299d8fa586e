"""Leases on PostgreSQL, process by process (each `Leases` here is one daemon): a source's check
claimed once per period and by one daemon at a time, taken over when its holder stops renewing,
the mail's lease, and a host's requests in flight and their spacing shared by every daemon."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import wait_for
from watcher.leasing import Heartbeat
from watcher.store import Store
from watcher.store.leases import LOCK_WAIT, MAIL, Leases, Turn, source_lease
from watcher.store.tables import LEASE

HOUR = timedelta(hours=1)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    opened = Store.open(postgres_url)
    yield opened
    opened.close()


@pytest.fixture
def daemon(store: Store) -> Callable[..., Leases]:
    """daemon(name, ttl=1 minute): the leases of one more daemon on the database."""

    def make(name: str, ttl: timedelta = timedelta(minutes=1)) -> Leases:
        leases = store.leases(name, ttl)
        assert leases is not None
        return leases

    return make


def test_sqlite_has_no_leases(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/watcher.db")
    try:
        assert store.leases("a", timedelta(minutes=1)) is None
    finally:
        store.close()


def test_a_check_is_claimed_once_per_period_and_never_by_two_daemons(
    daemon: Callable[..., Leases],
) -> None:
    a, b = daemon("a"), daemon("b")
    claim = a.claim_check("asean", HOUR).claim
    assert claim is not None and claim.took_over is None
    assert b.claim_check("asean", HOUR).claim is None  # under way on a
    assert b.claim_check("asean", HOUR, force=True).claim is None  # even by hand
    assert b.claim_check("other", HOUR).claim is not None  # another source is free
    a.release(claim.name)
    assert b.claim_check("asean", HOUR).claim is None  # done this period
    assert a.claim_check("asean", HOUR).claim is None  # by the one that did it, too
    forced = b.claim_check("asean", HOUR, force=True).claim
    assert forced is not None  # `watcher check` asks for it now
    b.release(forced.name)
    assert a.claim_check("asean", HOUR).claim is None  # and the period's check stays done


def test_the_next_period_is_claimed_by_whichever_daemon_fires_first(
    daemon: Callable[..., Leases],
) -> None:
    a, b = daemon("a"), daemon("b")
    every = timedelta(seconds=1)
    first = a.claim_check("asean", every).claim
    assert first is not None
    a.release(first.name)
    second = wait_for(lambda: b.claim_check("asean", every).claim, what="the next period")
    assert second is not None
    b.release(second.name)
    # a period is claimed once: its claim is at least half a period after the one before
    assert second.taken_at - first.taken_at >= every / 2
    assert a.claim_check("asean", every).claim is None


def test_each_try_says_when_the_next_period_begins(daemon: Callable[..., Leases]) -> None:
    a, b = daemon("a"), daemon("b")
    jitter = timedelta(minutes=10)
    first = a.claim_check("asean", HOUR, jitter=jitter)
    assert first.claim is not None and first.next_due_in is not None
    assert HOUR + jitter - timedelta(seconds=1) <= first.next_due_in <= HOUR + jitter
    held = b.claim_check("asean", HOUR)  # under way on a: the same period's end
    assert held.claim is None and held.next_due_in is not None
    assert abs(held.next_due_in - first.next_due_in) < timedelta(seconds=1)
    a.release(first.claim.name)
    done = b.claim_check("asean", HOUR)
    assert done.claim is None and done.next_due_in is not None
    assert done.next_due_in <= held.next_due_in


@pytest.mark.slow
def test_a_daemon_trying_when_told_finds_every_period_due(daemon: Callable[..., Leases]) -> None:
    """A lone daemon that sets its scheduler by the turns never finds a period not yet due,
    however the jitter falls (a scheduler keeping its own jittered time drifts ahead)."""
    a = daemon("a")
    every, jitter = timedelta(seconds=0.6), timedelta(seconds=0.6)
    turn = a.claim_check("asean", every, jitter=jitter)
    for _ in range(6):
        assert turn.claim is not None and turn.next_due_in is not None
        a.release(turn.claim.name)
        time.sleep(turn.next_due_in.total_seconds())
        turn = a.claim_check("asean", every, jitter=jitter)
    assert turn.claim is not None


@pytest.mark.slow
def test_a_try_waits_for_another_daemons_claim_but_not_for_a_hung_one(
    daemon: Callable[..., Leases],
) -> None:
    a, b = daemon("a"), daemon("b")
    first = a.claim_check("asean", HOUR).claim
    assert first is not None
    a.release(first.name)
    row = sa.select(LEASE).where(LEASE.c.name == source_lease("asean")).with_for_update()
    with a.engine.begin() as claiming:  # another daemon in the middle of its claim
        claiming.execute(row)
        turns: list[Turn] = []
        trying = threading.Thread(target=lambda: turns.append(b.claim_check("asean", HOUR)))
        trying.start()
        trying.join(0.5)
        assert trying.is_alive()  # waits, for milliseconds in life
    trying.join(5)
    assert turns and turns[0].claim is None and turns[0].next_due_in is not None

    with a.engine.begin() as hung:  # a claim whose daemon hung before it committed
        hung.execute(row)
        started = time.monotonic()
        assert b.claim_check("asean", HOUR) == Turn(None, None)
        assert LOCK_WAIT.total_seconds() <= time.monotonic() - started < 10


def test_an_interrupted_check_is_due_again_at_once(daemon: Callable[..., Leases]) -> None:
    a, b = daemon("a"), daemon("b")
    claim = a.claim_check("asean", HOUR).claim
    assert claim is not None
    a.release(claim.name, redo=True)
    redo = b.claim_check("asean", HOUR).claim
    assert redo is not None
    b.release(redo.name)
    assert a.claim_check("asean", HOUR).claim is None  # once


def test_a_lease_left_unrenewed_is_taken_over_once(daemon: Callable[..., Leases]) -> None:
    dead = daemon("dead", ttl=timedelta(seconds=1))
    a, b = daemon("a"), daemon("b")
    assert dead.claim_check("asean", HOUR).claim is not None
    assert a.claim_check("asean", HOUR).claim is None
    assert wait_for(lambda: a.expired(["asean", "other"]), what="the lease to expire") == ["asean"]
    claim = a.claim_check("asean", HOUR).claim
    assert claim is not None and claim.took_over == "dead"
    assert b.claim_check("asean", HOUR).claim is None  # redone once, by a
    assert a.expired(["asean"]) == []
    assert not dead.renew(source_lease("asean"))  # the dead one, back, finds it lost
    dead.release(source_lease("asean"))  # and giving it back takes nothing from a
    assert b.claim_check("asean", HOUR, force=True).claim is None
    a.release(claim.name)
    assert b.claim_check("asean", HOUR).claim is None  # the period's check was done


@pytest.mark.slow
def test_a_heartbeat_keeps_a_lease_past_its_expiry(daemon: Callable[..., Leases]) -> None:
    ttl = timedelta(seconds=1.5)
    a, b = daemon("a", ttl), daemon("b", ttl)
    claim = a.claim_check("asean", HOUR).claim
    assert claim is not None
    stop = threading.Event()
    with Heartbeat(a, claim.name, stop) as halt:
        # three expiries long, b never gets it
        for _ in range(9):
            assert not halt.wait(0.5)
            assert b.claim_check("asean", HOUR, force=True).claim is None
            assert b.expired(["asean"]) == []
        stop.set()
        assert halt.wait(5)  # a stop of the process reaches the work
    a.release(claim.name)


def test_a_lost_lease_halts_its_work(daemon: Callable[..., Leases]) -> None:
    ttl = timedelta(seconds=3)
    a, b = daemon("a", ttl), daemon("b", ttl)
    claim = a.claim_check("asean", HOUR).claim
    assert claim is not None
    a.release(claim.name)  # as if it had expired and another daemon had it now
    assert b.claim_check("asean", HOUR, force=True).claim is not None
    heartbeat = Heartbeat(a, claim.name, threading.Event())
    with heartbeat as halt:
        assert halt.wait(10)
    assert heartbeat.lost


def test_the_mail_lease_is_one_daemons_at_a_time(daemon: Callable[..., Leases]) -> None:
    a, b = daemon("a"), daemon("b")
    assert a.claim(MAIL) is not None
    assert a.claim(MAIL) is not None  # its holder may take it again
    assert b.claim(MAIL) is None
    a.release(MAIL)
    assert b.claim(MAIL) is not None
    assert a.claim(MAIL) is None


def test_a_hosts_requests_in_flight_are_counted_across_daemons(
    daemon: Callable[..., Leases],
) -> None:
    a, b = daemon("a"), daemon("b")
    hold, none = timedelta(minutes=2), timedelta()
    first = a.admit("asean.org", limit=2, min_delay=none, hold=hold)
    second = b.admit("asean.org", limit=2, min_delay=none, hold=hold)
    assert first is not None and second is not None
    assert a.admit("asean.org", limit=2, min_delay=none, hold=hold) is None
    assert b.admit("asean.org", limit=2, min_delay=none, hold=hold) is None
    assert a.admit("example.org", limit=2, min_delay=none, hold=hold) is not None
    b.leave(second[0])
    assert a.admit("asean.org", limit=2, min_delay=none, hold=hold) is not None


def test_a_slot_of_a_dead_daemon_lapses(daemon: Callable[..., Leases]) -> None:
    dead, a = daemon("dead"), daemon("a")
    none = timedelta()
    assert dead.admit("asean.org", limit=1, min_delay=none, hold=timedelta(seconds=1))
    assert a.admit("asean.org", limit=1, min_delay=none, hold=HOUR) is None
    wait_for(
        lambda: a.admit("asean.org", limit=1, min_delay=none, hold=HOUR),
        what="the dead daemon's slot to lapse",
    )


def test_requests_to_a_host_start_min_delay_apart_across_daemons(
    daemon: Callable[..., Leases],
) -> None:
    a, b = daemon("a"), daemon("b")
    delay = timedelta(seconds=30)
    waits = []
    for leases in (a, b, a):
        admitted = leases.admit("asean.org", limit=5, min_delay=delay, hold=HOUR)
        assert admitted is not None
        waits.append(admitted[1])
    # each start is booked `min_delay` after the one before, whoever asked
    assert waits[0] < 1
    assert 29 < waits[1] <= 30
    assert 59 < waits[2] <= 60


def test_daemons_starting_together_record_topics_and_subscriptions_once(
    postgres_url: str,
) -> None:
    """Each daemon records its topics and subscriptions at start; several starting at once on
    one database must neither fail nor apply a topic twice over."""
    stores = [Store.open(postgres_url) for _ in range(4)]
    errors: list[BaseException] = []
    counts: list[int] = []
    try:
        for round_number in range(5):
            start = threading.Barrier(len(stores))

            def begin(
                store: Store,
                fingerprint: str = f"definition-{round_number}",
                start: threading.Barrier = start,
            ) -> None:
                start.wait()
                try:
                    counts.append(store.apply_topic("russia", fingerprint, lambda t, b: None, NOW))
                    store.subscription_state(f"digest-{fingerprint}", NOW)
                except BaseException as exc:  # reported below, with the round it failed in
                    errors.append(exc)

            threads = [threading.Thread(target=begin, args=(s,)) for s in stores]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not errors, (round_number, errors)
        assert stores[0].topic_fingerprints() == {"russia": "definition-4"}
        assert counts == [0] * 20
    finally:
        for store in stores:
            store.close()
