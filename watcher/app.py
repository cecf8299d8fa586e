"""The program's parts wired together once: config, store, fetcher, feeds.

The CLI and the daemon both drive an `App`; neither holds business logic of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from watcher import feeds
from watcher.check import Clock, check_source, utc_now
from watcher.config import Config
from watcher.fetch import Fetcher
from watcher.models import CheckResult, CheckStatus
from watcher.store import Store

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
        self.fetcher = fetcher or Fetcher()
        self.clock = clock
        self.stop = threading.Event()
        self._feeds_lock = threading.Lock()

    def close(self) -> None:
        self.fetcher.close()
        self.store.close()

    def request_stop(self) -> None:
        """Checks end at the next release boundary; waits (Retry-After, delays) end now."""
        self.stop.set()
        self.fetcher.stop.set()

    def check(self, names: Iterable[str] | None = None) -> list[CheckResult]:
        wanted = list(names) if names else None
        sources = [self.config.source(n) for n in wanted] if wanted else self.config.sources
        results = []
        for source in sources:
            if self.stop.is_set():
                break
            if not source.enabled and wanted is None:
                continue
            results.append(self.check_one(source.name))
        return results

    def check_one(self, name: str) -> CheckResult:
        source = self.config.source(name)
        started = self.clock()
        try:
            result = check_source(
                self.config,
                source,
                store=self.store,
                fetcher=self.fetcher,
                clock=self.clock,
                stop=self.stop,
            )
        except Exception as exc:  # the database itself failing: report it, keep running
            log.exception("check %s: could not be recorded", name)
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return CheckResult(name, CheckStatus.FAILED, started, 0.0, 0, error=reason)
        if result.changed:
            self.build_feeds()
        return result

    def build_feeds(self) -> None:
        with self._feeds_lock:
            entries = self.store.recent_changes(self.config.settings.feeds.limit)
            documents = feeds.render(
                entries,
                title=self.config.settings.feeds.title,
                base_url=self.config.base_url,
                name="all",
                now=self.clock(),
            )
            feeds.write(self.config.feeds_dir, "all", documents)
