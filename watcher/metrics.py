"""What `/metrics` tells Prometheus: this process's own work (checks, requests, changes), and
the database's numbers as they are when it asks (releases, each source's health, the outbox).

The database's numbers are read at each scrape, not kept here: several daemons sharing one
PostgreSQL database all report the same truth, and `watcher serve` reports it too. Each App
has a registry of its own (never the library's global one), so that several can live in one
process (the tests make many).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from watcher.models import ChangeKind, CheckResult, CheckStatus, OutboxStatus

if TYPE_CHECKING:
    from watcher.store import Store

log = logging.getLogger(__name__)

# Seconds: a page from a nearby server takes milliseconds, a slow site tens of seconds (up to
# `http.deadline`, 2 minutes by default).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    """The counters this process increments, and the database's gauges read at scrape time."""

    def __init__(self, store: Store | None = None) -> None:
        self.registry = CollectorRegistry()
        self.checks = Counter(
            "watcher_checks",
            "Checks run by this process, by source and status (ok, failed, deferred, interrupted).",
            ["source", "status"],
            registry=self.registry,
        )
        self.requests = Counter(
            "watcher_http_requests",
            "HTTP requests sent by this process, by host (retries and robots.txt included).",
            ["host"],
            registry=self.registry,
        )
        self.not_modified = Counter(
            "watcher_http_not_modified",
            "HTTP requests answered 304 Not Modified (a conditional request that saved a page), "
            "by host.",
            ["host"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "watcher_http_request_duration_seconds",
            "Seconds from sending an HTTP request to having read its answer, by host.",
            ["host"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.changes = Counter(
            "watcher_changes",
            "Changes found by this process's checks, by the source checked and kind (new, edited, "
            "removed, restored, also_published, diverged).",
            ["source", "kind"],
            registry=self.registry,
        )
        if store is not None:
            self.registry.register(DatabaseCollector(store))

    def watch(self, sources: Iterable[str]) -> None:
        """Every series of these sources at 0 from the start: a rate needs a first value."""
        for source in sources:
            for status in CheckStatus:
                self.checks.labels(source, status.value)
            for kind in ChangeKind:
                self.changes.labels(source, kind.value)

    def request(self, host: str, status: int | None, seconds: float) -> None:
        """A request sent (status None: it got no answer, a timeout or a refused connection)."""
        self.requests.labels(host).inc()
        not_modified = self.not_modified.labels(host)  # at 0 from the host's first request
        if status == 304:
            not_modified.inc()
        if status is not None:
            self.latency.labels(host).observe(seconds)

    def checked(self, result: CheckResult) -> None:
        self.checks.labels(result.source, result.status.value).inc()
        for kind, count in result.counts.items():
            if count:
                self.changes.labels(result.source, kind.value).inc(count)

    def exposition(self) -> bytes:
        """The text format Prometheus reads."""
        return generate_latest(self.registry)


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape. A database that does not answer gives
    `watcher_database_up 0` and none of the others, rather than a failed scrape."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self) -> Iterable[Metric]:
        # the names alone, for the registry's check of duplicates: no query when registered
        return list(_families())

    def collect(self) -> Iterable[Metric]:
        up, releases, success, failures, messages = _families()
        try:
            statuses = self.store.statuses()
            counts = self.store.delivery_counts()
        except Exception as exc:  # the database away: said in the metrics, and in the log
            log.warning("metrics: the database does not answer: %s", _first_line(exc))
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        for status in statuses:
            releases.add_metric([status.name], status.releases)
            failures.add_metric([status.name], status.consecutive_failures)
            if status.last_success_at is not None:
                success.add_metric([status.name], status.last_success_at.timestamp())
        for state in OutboxStatus:
            total = sum(by_status.get(state.value, 0) for by_status in counts.values())
            messages.add_metric([state.value], total)
        return [up, releases, success, failures, messages]


def _families() -> Iterator[GaugeMetricFamily]:
    yield GaugeMetricFamily(
        "watcher_database_up", "1 when the database answered this scrape's queries, else 0."
    )
    yield GaugeMetricFamily(
        "watcher_releases", "Releases stored, by source (removed ones included).", labels=["source"]
    )
    yield GaugeMetricFamily(
        "watcher_source_last_success_timestamp_seconds",
        "When the source's last successful check ended (Unix time), by source.",
        labels=["source"],
    )
    yield GaugeMetricFamily(
        "watcher_source_consecutive_failures",
        "Checks of the source that failed in a row since its last success, by source.",
        labels=["source"],
    )
    yield GaugeMetricFamily(
        "watcher_outbox_messages",
        "Mail and chat messages in the outbox, by status: sent, pending (to send or retry), "
        "failed (given up after their retries).",
        labels=["status"],
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
