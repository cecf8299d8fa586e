"""The program's parts wired together once: config, store, fetcher, feeds, deliveries.

The CLI and the daemon both drive an `App`; neither holds business logic of its own.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

from watcher import feeds, lock
from watcher.check import Clock, check_source, utc_now
from watcher.delivery import Deliverer
from watcher.fetch import Fetcher
from watcher.leasing import Heartbeat, holder_id
from watcher.linking import Linker, copies_watched
from watcher.metrics import Metrics
from watcher.models import CheckResult, CheckStatus
from watcher.options import Config, SourceSpec
from watcher.store import Store
from watcher.store.copies import link_stored
from watcher.store.leases import MAIL
from watcher.topics import Topic, match, topic_fingerprint

log = logging.getLogger("watcher")


class App:
    def __init__(
        self,
        config: Config,
        *,
        store: Store | None = None,
        fetcher: Fetcher | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.config = config
        self.store = store or Store.open(config.database_url)
        self.runner = holder_id()
        # None with SQLite (one daemon per database); on PostgreSQL, what daemons share
        self.leases = self.store.leases(self.runner, config.lease_expiry)
        self.metrics = Metrics(self.store)
        self.metrics.watch(s.name for s in config.sources)
        self.fetcher = fetcher or Fetcher(hosts=self.leases)
        if self.fetcher.on_request is None:  # a fetcher handed in (a test's) is counted too
            self.fetcher.on_request = self.metrics.request
        self.clock = clock
        self.stop = threading.Event()
        self.deliverer = Deliverer(config, self.store, clock, stop=self.stop)
        self._feeds_lock = threading.Lock()
        self._delivery_lock = threading.Lock()
        # False while another process (the daemon) does the mailing for this database
        self.mails = True
        self.feeds_stale = False  # the last writing of the feeds failed
        self._feeds_marker: tuple[int, ...] | None = None  # what the feeds were built from
        self._mail_halt: threading.Event | None = None  # set while this process holds the mail

    def reconfigure(self, config: Config) -> None:
        """A reloaded config, for the next check (the one running finishes with the old)."""
        self.config = config
        self.deliverer.config = config
        self.metrics.watch(s.name for s in config.sources)

    def close(self) -> None:
        self.fetcher.close()
        self.store.close()

    def request_stop(self) -> None:
        """Checks end at the next release boundary; waits (Retry-After, delays) end now."""
        self.stop.set()
        self.fetcher.stop.set()

    def check(
        self, names: Iterable[str] | None = None, *, all_releases: bool = False
    ) -> list[CheckResult]:
        wanted = list(names) if names else None
        sources = [self.config.source(n) for n in wanted] if wanted else self.config.sources
        results = []
        for source in sources:
            if self.stop.is_set():
                break
            if not source.enabled and wanted is None:
                continue
            results.append(self.check_one(source.name, all_releases=all_releases))
        return results

    def check_one(self, name: str, *, all_releases: bool = False) -> CheckResult:
        """A check asked for now (`watcher check`): on a shared database, unless another
        process is checking the source at this moment."""
        source = self.config.source(name)
        if self.leases is None:
            return self._check(source, self.stop, all_releases=all_releases)
        result, _ = self._leased(source, force=True, all_releases=all_releases)
        if result is None:
            reason = "being checked now by another watcher process"
            result = CheckResult(name, CheckStatus.DEFERRED, self.clock(), 0.0, 0, error=reason)
            log.warning("check %s: %s", name, reason)
        return result

    def check_due(self, name: str) -> datetime | None:
        """The daemon's scheduled check: on a shared database, only if this period's check is
        not done or under way elsewhere. Returns when the source's next period begins by this
        process's clock, if the database keeps the schedule and knows it (None: the
        scheduler's own time stands)."""
        source = self.config.source(name)
        if self.leases is None:
            self._check(source, self.stop)
            return None
        _, next_due = self._leased(source, force=False)
        return next_due

    def _leased(
        self, source: SourceSpec, *, force: bool, all_releases: bool = False
    ) -> tuple[CheckResult | None, datetime | None]:
        assert self.leases is not None
        # the period after this one begins up to `jitter` late, as a lone daemon's would
        jitter = source.jitter * random.random()
        turn = self.leases.claim_check(source.name, source.every, jitter=jitter, force=force)
        asked = self.clock()
        # a period already begun while another daemon checks is not this one's to chase
        next_due = None
        if turn.next_due_in is not None and (turn.claim or turn.next_due_in > timedelta()):
            next_due = asked + turn.next_due_in
        claim = turn.claim
        if claim is None:
            log.debug("check %s: done this period, or under way, elsewhere", source.name)
            return None, next_due
        if claim.took_over:
            log.warning(
                "check %s: taken over from %s, which stopped renewing its lease; done again",
                source.name,
                claim.took_over,
            )
        heartbeat = Heartbeat(self.leases, claim.name, self.stop)
        with heartbeat as halt:
            result = self._check(source, halt, all_releases=all_releases)
        # a check cut short (a stop, a lost lease) is due again at once, on any daemon
        self.leases.release(claim.name, redo=result.status == CheckStatus.INTERRUPTED)
        return result, next_due

    def _check(
        self, source: SourceSpec, stop: threading.Event, *, all_releases: bool = False
    ) -> CheckResult:
        name = source.name
        started = self.clock()
        try:
            result = check_source(
                self.config,
                source,
                store=self.store,
                fetcher=self.fetcher,
                clock=self.clock,
                stop=stop,
                all_releases=all_releases,
                runner=self.runner,
            )
        except Exception as exc:  # the database itself failing: report it, keep running
            log.exception("check %s: could not be recorded", name)
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            result = CheckResult(name, CheckStatus.FAILED, started, 0.0, 0, error=reason)
            self.metrics.checked(result)
            return result
        self.metrics.checked(result)
        if result.changed or result.health_changed or self.feeds_stale:
            self.build_feeds()
            # a delivery already under way (the minute's job) takes these changes too
            self.deliver(instant=True, wait=False)
        return result

    def expired_checks(self) -> list[str]:
        """Enabled sources whose check a dead process left (its lease expired unrenewed)."""
        if self.leases is None:
            return []
        return self.leases.expired(s.name for s in self.config.sources if s.enabled)

    def clear_running(self) -> None:
        """At a daemon's start: checks noted as under way are not, except those that other
        daemons sharing the database hold now."""
        if self.leases is None:
            self.store.clear_running()
        else:
            self.leases.clear_running()

    def prepare(self) -> dict[str, int]:
        """What every start does before checking: topics whose terms changed are matched again,
        and subscriptions seen for the first time start from now (they never mail the past)."""
        self.store.forget_topics(self.config.topics)
        counts = self.apply_topics()
        now = self.clock()
        subscriptions = [s.name for s in self.config.subscriptions]
        self.store.forget_subscriptions(subscriptions)
        for name in subscriptions:
            self.store.subscription_state(name, now)
        self.link_stored()
        return counts

    def link_stored(self) -> int:
        """Releases stored before copies were linked (or before a second source was watched),
        signed and linked silently: no entry, no mail (watcher/linking.py)."""
        if not copies_watched(self.config):
            return 0
        linker = Linker(self.config)
        try:
            linked = link_stored(self.store.engine, partial(linker, silently=True), self.clock())
        except Exception:  # the database away a moment: the next start, or reload, goes on
            log.exception("copies: linking the releases stored before")
            return 0
        if linked:
            log.info("copies: %d stored release(s) signed and linked to their copies", linked)
        return linked

    def apply_topics(self, *, force: bool = False) -> dict[str, int]:
        """Match every stored version again for each topic whose definition changed (or is
        new); returns how many releases each re-evaluated topic now holds."""
        applied = self.store.topic_fingerprints()
        counts = {}
        for name, topic in self.config.topics.items():
            fingerprint = topic_fingerprint(topic)
            if applied.get(name) == fingerprint and not force:
                continue

            def judge(title: str, body: str, topic: Topic = topic) -> tuple[str, ...] | None:
                found = match(topic, title=title, body=body)
                return found.terms if found else None

            counts[name] = self.store.apply_topic(
                name, fingerprint, judge, self.clock(), force=force
            )
            log.info("topic %s: %d release(s) after applying its definition", name, counts[name])
        return counts

    def build_feeds(self) -> bool:
        """The main feed and one per topic, written whole (readers never see half a file).
        A failure (a full disk, a read-only directory) is logged and leaves the feeds stale:
        they are written again after the next check, whether or not it finds a change."""
        with self._feeds_lock:
            try:
                self._feeds_marker = self.store.feeds_marker()
                self._write_feeds()
            except OSError as exc:
                log.error("feeds not written, tried again after the next check: %s", exc)
            except Exception:  # a bug in one feed must not stop the checks
                log.exception("feeds not written, tried again after the next check")
            else:
                self.feeds_stale = False
                return True
            self.feeds_stale = True
            return False

    def refresh_feeds(self) -> None:
        """Before a feed is served: built again if the database has something they do not show
        (a change another daemon, or `watcher check`, found)."""
        try:
            stale = self.feeds_stale or self.store.feeds_marker() != self._feeds_marker
        except Exception:  # the files as they are are better than no answer
            log.exception("feeds: could not ask the database whether they are current")
            return
        if stale:
            self.build_feeds()

    def _write_feeds(self) -> None:
        limit = self.config.feeds.limit
        title = self.config.feeds.title
        now = self.clock()
        documents = feeds.render(
            self.store.recent_changes(limit),
            title=title,
            base_url=self.config.base_url,
            name="all",
            now=now,
            pages_url=self.config.pages_url,
        )
        feeds.write(self.config.feeds_dir, "all", documents)
        for name, topic in self.config.topics.items():
            documents = feeds.render(
                self.store.recent_changes(limit, topic=name),
                title=f"{title}: {topic.title}",
                base_url=self.config.base_url,
                name=f"topics/{name}",
                now=now,
                subtitle=f"New, edited and removed releases about {topic.title}",
                pages_url=self.config.pages_url,
            )
            feeds.write(self.config.feeds_dir / "topics", name, documents)
        health = feeds.render_health(
            self.store.health_events(), base_url=self.config.base_url, now=now
        )
        feeds.write(self.config.feeds_dir, "health", health)

    def deliver(self, *, instant: bool = False, due: bool = False, wait: bool = True) -> None:
        """Instant messages for new changes and/or digests whose time has come, then the
        outbox. One thread at a time: a message is composed and sent once."""
        if not self.mails or not self._delivery_lock.acquire(blocking=wait):
            return
        with _released(self._delivery_lock):
            try:
                with self._sending() as halt:
                    if halt is None:
                        return  # another daemon sends now; these changes wait for its next round
                    self.deliverer.enqueue_health()
                    if instant:
                        self.deliverer.enqueue_instant()
                    if due:
                        for subscription in self.deliverer.digests_due():
                            self.deliverer.enqueue_digest(subscription)
                    self.deliverer.deliver(stop=halt)
            except Exception:  # the outbox keeps what was not sent; the next round retries
                log.exception("deliveries: unexpected error")

    @contextmanager
    def _sending(self) -> Iterator[threading.Event | None]:
        """With SQLite the caller holds the mail lock (the daemon for its whole life, a command
        while it sends); on a shared database the lease is taken for this round."""
        if self.leases is None:
            yield self.stop
            return
        with self.mail_rights(wait=0) as halt:
            yield halt

    @contextmanager
    def mail_rights(self, wait: float) -> Iterator[threading.Event | None]:
        """The right to compose and send this database's mail, held for the block: an event
        set when the right is lost (stop sending), or None when another process keeps it for
        longer than `wait` seconds. A file lock beside a SQLite database; a lease on a shared
        one (no two daemons mail at once, and one that dies mid-round is taken over)."""
        if self.leases is None:
            with lock.mail_rights(self.config, wait=wait) as may_send:
                yield self.stop if may_send else None
            return
        if self._mail_halt is not None:  # already held (a command's deliveries in its block)
            yield self._mail_halt
            return
        deadline = time.monotonic() + wait
        while (claim := self.leases.claim(MAIL)) is None:
            if time.monotonic() >= deadline or self.stop.wait(0.2):
                yield None
                return
        try:
            with Heartbeat(self.leases, claim.name, self.stop) as halt:
                self._mail_halt = halt
                yield halt
        finally:
            self._mail_halt = None
            self.leases.release(claim.name)


@contextmanager
def _released(lock: threading.Lock) -> Iterator[None]:
    try:
        yield
    finally:
        lock.release()
