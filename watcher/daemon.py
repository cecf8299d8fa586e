"""`watcher run`: the scheduler and the HTTP server around an App. Wiring and signals only.

Every source is checked at start and then every `every` (plus up to `jitter`); one source is
never checked twice at once, and a late check is run once, not once per missed slot.
SIGTERM and SIGINT stop checks at the next release boundary and exit 0.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher.app import App
from watcher.web import WebServer

log = logging.getLogger("watcher.daemon")

# How long running checks get to reach a release boundary. A request already on the wire can
# take up to its timeout; past this the process exits anyway: the release in flight was not
# committed, so nothing half-written remains, and the next start reads it again.
STOP_GRACE = timedelta(seconds=5)


class Daemon:
    def __init__(self, app: App) -> None:
        self.app = app
        self.running = 0
        self._running_lock = threading.Lock()
        sources = [s for s in app.config.sources if s.enabled]
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max(1, min(4, len(sources))))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        now = app.clock()
        for source in sources:
            self.scheduler.add_job(
                self._check,
                IntervalTrigger(
                    seconds=source.every.total_seconds(),
                    jitter=int(source.jitter.total_seconds()) or None,
                    timezone="UTC",
                ),
                args=[source.name],
                id=source.name,
                name=f"check {source.name}",
                next_run_time=now,
            )
        if app.config.settings.subscriptions:
            self.scheduler.add_job(
                app.deliver,
                IntervalTrigger(minutes=1, timezone="UTC"),
                kwargs={"instant": True, "due": True},  # also what a crash left undone
                id="deliveries",
                name="instant mail left over, digests, retries",
                next_run_time=now,
            )
        settings = app.config.settings.server
        self.web = WebServer(
            settings.listen,
            app.config.feeds_dir,
            self._healthy,
            topics={name: topic.title for name, topic in app.config.topics.items()},
            base_url=app.config.base_url,
        )

    def run(self) -> int:
        self.app.prepare()  # topics whose terms changed, subscriptions seen for the first time
        self.app.build_feeds()  # valid (possibly empty) feeds before the first check
        self.web.start()
        log.info(
            "watcher running: %d source(s), feeds at %s/feeds/all.atom (listening on %s)",
            len(self.scheduler.get_jobs()),
            self.app.config.base_url,
            self.app.config.settings.server.listen,
        )
        stop = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if stop.is_set():
                log.warning("%s received again: exiting now", name)
                _exit_now()
            log.info("%s received: stopping at the next release boundary", name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.scheduler.start()
        try:
            while not stop.wait(1.0):
                pass
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
                "%d check(s) still waiting on the network; exiting without them "
                "(their release in flight was not written and is read again next time)",
                self.running,
            )
            _exit_now()
        log.info("watcher stopped")

    def _check(self, name: str) -> None:
        with self._running_lock:
            self.running += 1
        try:
            self.app.check_one(name)
        except Exception:
            log.exception("check %s: unexpected error", name)
        finally:
            with self._running_lock:
                self.running -= 1

    def _healthy(self) -> bool:
        return bool(self.scheduler.running)


def _exit_now() -> None:
    """Leave without waiting for worker threads (the interpreter would join them)."""
    logging.shutdown()
    os._exit(0)
