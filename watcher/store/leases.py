"""Who checks which source now, who sends the mail, and each host's shared politeness, for
several daemons on one PostgreSQL database.

A lease is a row (`lease`) naming its holder until `expires_at`; it is taken in a short
transaction that locks the row with `SELECT ... FOR UPDATE`, and kept by renewing it. The mail's
lease skips a row another daemon has locked (`SKIP LOCKED`: its turn); a source's waits for it,
a few milliseconds and never past `LOCK_WAIT`, so as to learn when the next period begins. A
holder that dies stops renewing, and once its lease has expired another daemon takes it. Every
time compared is the database server's `now()`, so the daemons' clocks need not agree.

A source's lease also says when its next check is due (`next_due_at`), `every` plus up to
`jitter` after the last: the first daemon to try in a period claims that period's check; the
others find it done and skip it. Each try answers when the next period begins, and the daemons
set their schedulers by it: a scheduler keeping its own time, jittered apart from the lease's,
would drift ahead of it and find a period not yet due, and a lone daemon would miss a check.

Hosts: a request is admitted while the host's row is locked (`SELECT ... FOR UPDATE`, waited
for: admissions to one host are serialised across daemons for a moment), if fewer requests than
the limit hold a slot (`host_slot`); the row's `next_start` spaces the requests' starts by
`min_delay`. These leases are PostgreSQL's alone: with SQLite one daemon owns the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from watcher.store.tables import HOST, HOST_SLOT, LEASE, SOURCE

MAIL = "mail"


def source_lease(name: str) -> str:
    return f"source:{name}"


@dataclass(frozen=True, slots=True)
class Claim:
    name: str
    taken_at: datetime  # by the database's clock
    took_over: str | None = None  # the holder whose lease had expired (it died mid-work)


@dataclass(frozen=True, slots=True)
class Turn:
    """A daemon's try at a source's check: the check, if it is this daemon's to do, and how
    long until the source's next period begins, by the database's clock (None: not known now,
    another daemon is claiming or giving back the lease this instant)."""

    claim: Claim | None
    next_due_in: timedelta | None


_NOW = sa.func.now()
# Claims and renewals hold a lease's row for milliseconds; longer, its holder is gone mid-claim.
LOCK_WAIT = timedelta(seconds=2)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock timeout


class Leases:
    """The leases of one process (`holder`), each lasting `ttl` unless renewed."""

    def __init__(self, engine: Engine, holder: str, ttl: timedelta) -> None:
        self.engine = engine
        self.holder = holder
        self.ttl = ttl

    # -- sources and mail ----------------------------------------------------------------

    def claim_check(
        self,
        source: str,
        every: timedelta,
        *,
        jitter: timedelta = timedelta(),
        force: bool = False,
    ) -> Turn:
        """The check of `source` for this period, if it is due and nobody holds it (no claim:
        it is being done, or was done this period). The next period starts `every` plus
        `jitter` later, as one daemon's next check would. `force` (a check asked for by hand)
        takes it whenever nobody holds it, and leaves the next due check where it was."""
        name = source_lease(source)
        with _unless_busy(), self.engine.begin() as connection:
            row = _locked(connection, name, wait=True)
            if _held(row):
                return Turn(None, _until(row.next_due_at, row.now))
            took_over = row.holder  # still named: its holder died without giving it back
            # The periods run from the first check, `every` apart; a period starts half a
            # period early, so that a scheduler firing a little before the due time (its
            # last check began a moment after its timer fired) still takes it.
            early = every / 2
            due = row.next_due_at is None or row.now >= row.next_due_at - early
            if not (due or force or took_over):
                return Turn(None, _until(row.next_due_at, row.now))
            next_due = row.next_due_at
            if due:
                following = (row.next_due_at or row.now) + every + jitter
                # a period nobody checked in (every daemon down) does not leave a backlog
                next_due = following if row.now < following - early else row.now + every
            connection.execute(
                sa.update(LEASE)
                .where(LEASE.c.name == name)
                .values(
                    holder=self.holder,
                    expires_at=row.now + self.ttl,
                    taken_at=row.now,
                    next_due_at=next_due,
                )
            )
            return Turn(Claim(name, row.now, took_over), _until(next_due, row.now))
        return Turn(None, None)

    def claim(self, name: str) -> Claim | None:
        """A lease without a schedule (the mail's): taken if nobody else holds it."""
        with self.engine.begin() as connection:
            row = _locked(connection, name)
            if row is None or (_held(row) and row.holder != self.holder):
                return None
            connection.execute(
                sa.update(LEASE)
                .where(LEASE.c.name == name)
                .values(holder=self.holder, expires_at=row.now + self.ttl, taken_at=row.now)
            )
            return Claim(name, row.now, row.holder if row.holder != self.holder else None)

    def renew(self, name: str) -> bool:
        """Whether this process still holds `name` (now for another `ttl`)."""
        with self.engine.begin() as connection:
            renewed = connection.execute(
                sa.update(LEASE)
                .where(LEASE.c.name == name, LEASE.c.holder == self.holder)
                .where(LEASE.c.expires_at > _NOW)
                .values(expires_at=_NOW + self.ttl)
            )
            return renewed.rowcount == 1

    def release(self, name: str, *, redo: bool = False) -> None:
        """Given back; `redo`: its work was cut short, and is due again now (on any daemon)."""
        values: dict[str, Any] = {"holder": None, "expires_at": None}
        if redo:
            values["next_due_at"] = _NOW
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(LEASE)
                .where(LEASE.c.name == name, LEASE.c.holder == self.holder)
                .values(**values)
            )

    def expired(self, sources: Iterable[str]) -> list[str]:
        """The sources whose check was left by a holder that stopped renewing it."""
        names = {source_lease(s): s for s in sources}
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(LEASE.c.name).where(
                    LEASE.c.name.in_(list(names)),
                    LEASE.c.holder.is_not(None),
                    LEASE.c.expires_at <= _NOW,
                )
            )
            return sorted(names[name] for (name,) in rows)

    def holders(self) -> dict[str, str]:
        """Each source checked now, by whom (the leases held and not expired)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(LEASE.c.name, LEASE.c.holder).where(
                    LEASE.c.name.startswith("source:"),
                    LEASE.c.holder.is_not(None),
                    LEASE.c.expires_at > _NOW,
                )
            )
            return {name.removeprefix("source:"): holder for name, holder in rows}

    # -- hosts ---------------------------------------------------------------------------

    def admit(
        self, host: str, *, limit: int, min_delay: timedelta, hold: timedelta
    ) -> tuple[int, float, datetime] | None:
        """A request to `host`, if fewer than `limit` are in flight from every daemon: its
        slot, to give back, the seconds to wait before it starts (`min_delay` after the
        previous start) and that start, in the database's time; None: try again shortly.
        The slot lapses after `hold`, should this process die before giving it back."""
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415  (only PostgreSQL has leases)

        with self.engine.begin() as connection:
            connection.execute(
                postgresql.insert(HOST)
                .values(name=host, next_start=_NOW)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            row = connection.execute(
                sa.select(HOST.c.next_start, _NOW.label("now"))
                .where(HOST.c.name == host)
                .with_for_update()
            ).one()
            connection.execute(
                sa.delete(HOST_SLOT).where(HOST_SLOT.c.host == host, HOST_SLOT.c.expires_at <= _NOW)
            )
            in_flight = connection.execute(
                sa.select(sa.func.count()).where(HOST_SLOT.c.host == host)
            ).scalar_one()
            if in_flight >= limit:
                return None
            start = max(row.now, row.next_start)
            connection.execute(
                sa.update(HOST).where(HOST.c.name == host).values(next_start=start + min_delay)
            )
            slot = connection.execute(
                sa.insert(HOST_SLOT)
                .values(host=host, holder=self.holder, expires_at=start + hold)
                .returning(HOST_SLOT.c.id)
            ).scalar_one()
            return int(slot), (start - row.now).total_seconds(), start

    def leave(self, slot: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.delete(HOST_SLOT).where(HOST_SLOT.c.id == slot))

    # -- a daemon's start ----------------------------------------------------------------

    def clear_running(self) -> None:
        """At a daemon's start: the checks nobody holds are not under way any more (those that
        other daemons hold are)."""
        held = sa.select(LEASE.c.name).where(LEASE.c.holder.is_not(None), LEASE.c.expires_at > _NOW)
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(SOURCE)
                .where(sa.literal("source:").concat(SOURCE.c.name).not_in(held))
                .values(check_started_at=None)
            )


def _locked(connection: Connection, name: str, *, wait: bool = False) -> Any:
    """The lease's row, locked for this transaction. Without `wait`, None if another process
    has it locked now (it is taking or giving it back: its turn, not ours); with it, once the
    other is done, or a lock timeout after `LOCK_WAIT` (see _unless_busy)."""
    from sqlalchemy.dialects import postgresql  # noqa: PLC0415

    if wait:
        waited = int(LOCK_WAIT.total_seconds() * 1000)
        connection.execute(sa.text(f"SET LOCAL lock_timeout = {waited}"))
    connection.execute(
        postgresql.insert(LEASE).values(name=name).on_conflict_do_nothing(index_elements=["name"])
    )
    return connection.execute(
        sa.select(LEASE, _NOW.label("now"))
        .where(LEASE.c.name == name)
        .with_for_update(skip_locked=not wait)
    ).first()


@contextmanager
def _unless_busy() -> Iterator[None]:
    """A lease's row locked past LOCK_WAIT (its locker's connection hung mid-claim): left
    alone this time, as another's turn."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise


def _until(moment: datetime | None, now: datetime) -> timedelta | None:
    return None if moment is None else moment - now


def _held(row: Any) -> bool:
    return row.holder is not None and row.expires_at is not None and row.expires_at > row.now
