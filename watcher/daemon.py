"""`watcher run`: the scheduler and the HTTP server around an App. Wiring and signals only.

Every source is checked at start and then every `every` (plus up to `jitter`); one source is
never checked twice at once, and a late check is run once, not once per missed slot.
SIGTERM and SIGINT stop checks at the next release boundary and exit 0.

Several daemons on one PostgreSQL database each schedule every source; a check runs only where
its lease is claimed (app.py, store/leases.py), each daemon sets a source's next check by the
lease's schedule, and every fraction of the lease expiry each daemon looks for checks a dead
daemon left, to run them at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher.app import App
from watcher.config import load_config
from watcher.errors import ConfigError
from watcher.options import Config
from watcher.web.app import Site
from watcher.web.server import WebServer

log = logging.getLogger("watcher.daemon")

# How long running checks get to reach a release boundary. A request already on the wire can
# take up to its timeout; past this the process exits anyway: the release in flight was not
# committed, so nothing half-written remains, and the next start reads it again.
STOP_GRACE = timedelta(seconds=5)
DELIVERIES = "deliveries"
TAKEOVER = "takeover"
MAIL_EXECUTOR = "mail"
LEASE_EXECUTOR = "leases"


class Daemon:
    def __init__(self, app: App) -> None:
        self.app = app
        self.running = 0
        self._running_lock = threading.Lock()
        self.checks: dict[str, datetime] = {}  # the checks under way, since when
        sources = [s for s in app.config.sources if s.enabled]
        self.scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(max_workers=max(1, min(4, len(sources)))),
                # mail has a worker of its own: checks that take long never hold it up
                MAIL_EXECUTOR: ThreadPoolExecutor(max_workers=1),
                # looking for checks to take over is quick, and never waits behind checks
                LEASE_EXECUTOR: ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        self._schedule(first_run=app.clock())
        settings = app.config.server
        site = Site(
            app.config.feeds_dir,
            self._healthy,
            topics=app.config.topics,
            base_url=app.config.base_url,
            refresh=app.refresh_feeds,
            reader=app.store,
            next_checks=self._next_checks,
            title=app.config.feeds.title,
            sources=app.config.sources,
            metrics=app.metrics.exposition,
        )
        self.web = WebServer(settings.listen, site)

    def _schedule(self, *, first_run: datetime | None) -> None:
        """One job per enabled source, and the deliveries' job when there is anything to
        deliver; `first_run` None keeps sources that were already scheduled on their times."""
        config = self.app.config
        wanted = {s.name: s for s in config.sources if s.enabled}
        for job in self.scheduler.get_jobs():
            if job.id not in (DELIVERIES, TAKEOVER) and job.id not in wanted:
                job.remove()
        for name, source in wanted.items():
            trigger = IntervalTrigger(
                seconds=source.every.total_seconds(),
                jitter=int(source.jitter.total_seconds()) or None,
                timezone="UTC",
            )
            existing = self.scheduler.get_job(name)
            if existing is not None:
                same = (existing.trigger.interval, existing.trigger.jitter) == (
                    trigger.interval,
                    trigger.jitter,
                )
                if not same:  # only a changed schedule moves the next check
                    existing.reschedule(trigger)
                continue
            self.scheduler.add_job(
                self._check,
                trigger,
                args=[name],
                id=name,
                name=f"check {name}",
                next_run_time=first_run or self.app.clock(),  # a new source: checked at once
            )
        needs_deliveries = bool(config.subscriptions or config.health.admin)
        if needs_deliveries and self.scheduler.get_job(DELIVERIES) is None:
            self.scheduler.add_job(
                self._deliver,
                IntervalTrigger(minutes=1, timezone="UTC"),
                id=DELIVERIES,
                name="instant mail left over, digests, retries, health mail",
                executor=MAIL_EXECUTOR,
                next_run_time=first_run or self.app.clock(),
            )
        if self.app.leases is not None and self.scheduler.get_job(TAKEOVER) is None:
            # a dead daemon's lease is free `lease_expiry` after its last renewal: looked for
            # ten times per expiry, its check is taken over within 1.1 expiries at most
            every = max(1.0, config.lease_expiry.total_seconds() / 10)
            self.scheduler.add_job(
                self._take_over,
                IntervalTrigger(seconds=every, timezone="UTC"),
                id=TAKEOVER,
                name="checks left by a daemon that died",
                executor=LEASE_EXECUTOR,
            )

    def _align(self, name: str, next_due: datetime) -> None:
        """The source's next check at the time its shared schedule says, not on this
        scheduler's own jittered clock (store/leases.py), plus up to a tenth of its jitter: who
        takes a period is left to chance rather than to whichever daemon wakes first. A period
        that began while this check ran is left to the scheduler, which runs a late check once."""
        if next_due <= self.app.clock():
            return
        spread = self.app.config.source(name).jitter * random.random() / 10
        with contextlib.suppress(JobLookupError):  # the source left the config meanwhile
            self.scheduler.modify_job(name, next_run_time=next_due + spread)

    def _take_over(self) -> None:
        """Checks whose lease a dead daemon left run now (the check claims it), not at the
        source's next scheduled time, which may be many minutes away."""
        try:
            expired = self.app.expired_checks()
        except Exception:  # the database away for a moment: looked for again shortly
            log.exception("looking for checks to take over")
            return
        now = self.app.clock()
        for name in expired:
            if self.scheduler.get_job(name) is not None:
                self.scheduler.modify_job(name, next_run_time=now)

    def reload(self) -> None:
        """SIGHUP: a valid config takes effect now; an invalid one is reported in one line and
        the running one stays. The database and the listening address need a restart."""
        old = self.app.config
        try:
            new = load_config(old.path)
        except ConfigError as exc:
            log.error("config not reloaded, the running one stays: %s", exc)
            return
        try:
            self._apply(old, new)
        except Exception:  # whatever fails here must not end the daemon: it keeps running
            log.exception("config reload failed part way; restart the daemon to be sure")

    def _apply(self, old: Config, new: Config) -> None:
        if (new.database_url, new.server, new.state_dir) != (
            old.database_url,
            old.server,
            old.state_dir,
        ):
            log.warning("database, server and state_dir settings take effect at the next start")
            new = replace(new, state_dir=old.state_dir, database_url=old.database_url)
        self.app.reconfigure(new)
        self._schedule(first_run=None)
        self.web.site.set_topics(new.topics)
        self.web.site.sources = new.sources
        self.app.prepare()
        self.app.build_feeds()
        log.info(
            "config reloaded: %d source(s), %d topic(s), %d subscription(s)",
            len(new.sources),
            len(new.topics),
            len(new.subscriptions),
        )

    def run(self) -> int:
        stop = threading.Event()
        reload_requested = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if stop.is_set():
                log.warning("%s received again: exiting now", name)
                _exit_now()
            log.info("%s received: stopping at the next release boundary", name)
            stop.set()

        # before anything else: a signal during start-up must not end the process untidily
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGHUP, lambda _signum, _frame: reload_requested.set())
        self.app.clear_running()  # what an earlier process left under way
        self.app.prepare()  # topics whose terms changed, subscriptions seen for the first time
        self.app.build_feeds()  # valid (possibly empty) feeds before the first check
        self.web.start()
        log.info(
            "watcher running: %d source(s), feeds at %s/feeds/all.atom (listening on %s)",
            len([s for s in self.app.config.sources if s.enabled]),
            self.app.config.base_url,
            self.app.config.server.listen,
        )
        self.scheduler.start()
        try:
            while not stop.wait(0.5):
                if reload_requested.is_set():
                    reload_requested.clear()
                    self.reload()
        finally:
            self.shutdown()
        return 0

    def shutdown(self) -> None:
        self.app.request_stop()
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + STOP_GRACE.total_seconds()
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        self.web.stop()
        if self.running:
            log.warning(
                "%d check(s) or deliveries still waiting on the network; exiting without them "
                "(their release in flight was not written and is read again next time)",
                self.running,
            )
            _exit_now()
        log.info("watcher stopped")

    def _check(self, name: str) -> None:
        with self._running_lock:
            self.running += 1
            self.checks[name] = self.app.clock()
        try:
            next_due = self.app.check_due(name)
            if next_due is not None:
                self._align(name, next_due)
        except Exception:
            log.exception("check %s: unexpected error", name)
        finally:
            with self._running_lock:
                self.running -= 1
                self.checks.pop(name, None)

    def _deliver(self) -> None:
        """Instant mail a crash left undone, digests that are due, retries, health mail."""
        with self._running_lock:
            self.running += 1
        try:
            self.app.deliver(instant=True, due=True)
        finally:
            with self._running_lock:
                self.running -= 1

    def _next_checks(self) -> dict[str, datetime | None]:
        """Each source's next check as the scheduler has it (None: paused or not scheduled)."""
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def _healthy(self) -> tuple[bool, str]:
        """Ready while the scheduler runs and the database answers; the body names checks
        running past their deadline (a check should end by then: one that does not is worth a
        look, not a restart)."""
        problems = [] if self.scheduler.running else ["the scheduler is not running"]
        if (why := self.app.store.ping()) is not None:
            problems.append(f"database: {why}")
        if problems:
            return False, "; ".join(problems)
        now = self.app.clock()
        with self._running_lock:
            running = dict(self.checks)
        late = []
        for name, since in sorted(running.items()):
            deadline = _deadline(self.app.config, name)
            if deadline is not None and now - since > deadline:
                late.append(f"check {name} running since {since:%Y-%m-%d %H:%M:%S} UTC")
        if late:
            return True, "checks past their deadline: " + "; ".join(late)
        return True, ""


def _deadline(config: Config, name: str) -> timedelta | None:
    for source in config.sources:
        if source.name == name:
            return source.check_deadline
    return None


def _exit_now() -> None:
    """Leave without waiting for worker threads (the interpreter would join them)."""
    logging.shutdown()
    os._exit(0)
