"""The revisit policy over simulated days: the watcher's `App`, in this process, with a clock
that moves 15 minutes per check (the web server keeps real time; only the watcher's sense of
"now" moves), plain checks as the daemon runs them, against the archive served on 127.0.0.1.

One release in twenty links a PDF annex (read, and asked for again on its release's schedule).
Edits are planted at every age (a release a few days old, a month, a year, five years), two
PDFs are replaced behind unchanged pages, a release is published, two are removed; each is timed from when it was made to the check that
found it, against the policy's bounds: a release under 7 days old (and a new one) within one
cycle, an edit of any release within 24 hours, a removal within 48 hours. The requests of each
day (listing pages and robots.txt included) are counted at the server and compared with what
urlwatch makes in the same day: every page at every cycle.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.archive import Archive, Release
from bench.servers import AccessLog, Requests
from bench.tools import SOURCE, watcher_config

CYCLE = timedelta(minutes=15)
FRESH = timedelta(days=7)  # the policy's default `fresh`: read at every check
EDIT_BOUND = timedelta(hours=24)
REMOVAL_BOUND = timedelta(hours=48)


class SimulatedClock:
    """The real time plus an offset the simulation moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Plant:
    """A change made to the archive at `at` (simulated time since the day began)."""

    what: str
    kind: str  # the change the watcher should report: new, edited, removed
    at: timedelta
    bound: timedelta
    release: Release | None = None  # the one changed (a new release: once published)
    made: bool = False
    age: timedelta | None = None  # of the release when the change was made
    caught: timedelta | None = None  # simulated time of the check that reported it

    @property
    def delay(self) -> timedelta | None:
        return None if self.caught is None else self.caught - self.at

    @property
    def ok(self) -> bool:
        return self.delay is not None and self.delay <= self.bound


@dataclass
class Day:
    requests: Requests = field(default_factory=Requests)
    checks: int = 0
    cpu: float = 0.0
    most_requests: int = 0  # in one check


@dataclass
class DayResult:
    pages: int
    days: list[Day]
    plants: list[Plant]
    baseline_requests: int
    false_alarms: list[str]
    failed_checks: list[str]


# (what, release age, hours into the day): the edits planted, at every age
EDITS = (
    ("edit", timedelta(days=2), 0.0),
    ("edit", timedelta(days=5), 10.0),
    ("edit", timedelta(days=30), 0.0),
    ("edit", timedelta(days=100), 12.0),
    ("edit", timedelta(days=365), 0.0),
    ("edit", timedelta(days=3 * 365), 12.0),
    ("edit", timedelta(days=5 * 365), 0.0),
)
REMOVALS = (("removal", timedelta(days=4), 0.0), ("removal", timedelta(days=900), 0.0))
# a PDF replaced behind an unchanged page: found when its release is read again
DOCUMENT_EDITS = (("PDF edit", timedelta(days=3), 6.0), ("PDF edit", timedelta(days=2 * 365), 0.0))
PUBLISHED_AT = 3.0  # hours into the day: a new release at the top of the listing


def simulate(archive: Archive, log: AccessLog, directory: Path, *, days: int = 2) -> DayResult:
    """A first check (the archive as a daemon finds it on its first start), then `days` of
    checks every 15 minutes with the changes above planted between them."""
    from watcher.app import App
    from watcher.config import load_config

    pages = len(archive.releases)
    config = watcher_config(directory, html_source(archive, pages))
    clock = SimulatedClock()
    app = App(load_config(config), clock=clock)
    try:
        app.prepare()
        start = clock()
        log.mark()
        [first] = app.check([SOURCE])
        baseline = log.since_mark()
        failed = [] if first.status == "ok" else [f"first check: {first.error}"]
        plants = plan(archive, start)
        watermark = app.store.newest_change_id()
        false_alarms: list[str] = []
        result = DayResult(pages, [], plants, sum(baseline.total.values()), false_alarms, failed)
        for _ in range(days):
            day = Day()
            log.mark()
            for _ in range(round(timedelta(hours=24) / CYCLE)):
                # what was planted since the last check, then the check
                for plant in plants:
                    if not plant.made and plant.at < clock.offset + CYCLE:
                        make(archive, plant, start)
                clock.offset += CYCLE
                before = resource.getrusage(resource.RUSAGE_SELF)
                [check] = app.check([SOURCE])
                after = resource.getrusage(resource.RUSAGE_SELF)
                day.cpu += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                day.checks += 1
                day.most_requests = max(day.most_requests, check.requests)
                if check.status != "ok":
                    failed.append(f"at {clock.offset}: {check.status} {check.error}")
                if check.changed:
                    watermark = match(app, watermark, plants, clock.offset, false_alarms)
            day.requests = log.since_mark()
            result.days.append(day)
        return result
    finally:
        app.close()


def html_source(archive: Archive, pages: int) -> dict[str, Any]:
    """The archive's listing as an html source: walked whole (`max_pages: 0`), however many
    pages, within one check."""
    return {
        "type": "html",
        "profile": "asean",
        "url": archive.base + archive.listing_path(1),
        "max_pages": 0,
        "every": "15m",
        "check_deadline": "6h",
        "check_max_pages": archive.listing_pages() + 100,
    }


def plan(archive: Archive, start: datetime) -> list[Plant]:
    """The changes to plant, each on its own release (the nearest in age to the one wanted)."""
    taken: set[str] = set()

    def nearest(age: timedelta, *, annexed: bool) -> Release | None:
        free = [r for r in archive.releases if r.path not in taken and bool(r.annex) == annexed]
        if not free:  # a small archive (the benchmark's own test) has few PDFs
            return None
        release = min(free, key=lambda r: abs((start - r.published) - age))
        taken.add(release.path)
        return release

    plants = []
    for what, age, hours in (*EDITS, *REMOVALS, *DOCUMENT_EDITS):
        release = nearest(age, annexed=what == "PDF edit")
        if release is None:
            continue
        real_age = start + timedelta(hours=hours) - release.published
        kind = "removed" if what == "removal" else "edited"
        bound = EDIT_BOUND if real_age >= FRESH else CYCLE
        bound = REMOVAL_BOUND if what == "removal" else bound
        plants.append(Plant(what, kind, timedelta(hours=hours), bound, release, age=real_age))
    plants.append(Plant("new release", "new", timedelta(hours=PUBLISHED_AT), CYCLE))
    return sorted(plants, key=lambda p: p.at)


def make(archive: Archive, plant: Plant, start: datetime) -> None:
    if plant.kind == "new":
        plant.release = archive.publish(start + plant.at)
    elif plant.release is not None and plant.what == "PDF edit":
        archive.edit_document(plant.release)
    elif plant.release is not None and plant.kind == "edited":
        archive.edit(plant.release)
    elif plant.release is not None:
        archive.remove(plant.release)
    plant.made = True


def match(
    app: Any, watermark: int, plants: list[Plant], now: timedelta, false_alarms: list[str]
) -> int:
    """The changes the last check stored, matched to the plants; any other is a false alarm."""
    from watcher.store.reading import changes_query
    from watcher.store.tables import CHANGE

    with app.store.engine.connect() as connection:
        rows = connection.execute(changes_query().where(CHANGE.c.id > watermark)).all()
    for row in rows:
        path = urlsplit(row.url).path
        wanted = [
            p
            for p in plants
            if p.release and p.release.path == path and p.kind == row.kind and p.caught is None
        ]
        if wanted:
            wanted[0].caught = now
        else:
            false_alarms.append(f"{row.kind} {path} at {now}")
        watermark = max(watermark, int(row.id))
    return watermark
