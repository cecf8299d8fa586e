"""Atom and RSS 2.0 of the most recent changes (feedgen), written atomically.

Every change is its own entry with a stable id (`urn:uuid:` of the change): an edit adds an entry
and never rewrites the entry of the original release, so readers show it as news.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from feedgen.feed import FeedGenerator

from watcher import __version__, copies_told
from watcher.models import ChangeEntry, ChangeKind, HealthEvent, HealthKind
from watcher.render import change_diff, edit_html
from watcher.urls import history_url, web_url

FEED_NAMES = ("all.atom", "all.rss")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_KIND_LABEL = {
    ChangeKind.NEW: "New",
    ChangeKind.EDITED: "Edited",
    ChangeKind.REMOVED: "Removed",
    ChangeKind.RESTORED: "Restored",
    ChangeKind.ALSO_PUBLISHED: "Also published",
    ChangeKind.DIVERGED: "Diverged",
}


@dataclass(frozen=True, slots=True)
class FeedDocuments:
    atom: bytes
    rss: bytes


def render(
    entries: Sequence[ChangeEntry],
    *,
    title: str,
    base_url: str,
    name: str,
    now: datetime,
    subtitle: str = "New, edited and removed releases",
    pages_url: str | None = None,
) -> FeedDocuments:
    """Both formats of one feed; `now` only dates an empty feed, so output is reproducible.
    With `pages_url` (a public address of the web pages) each entry links to its release's
    history; its own link stays the release on the site."""
    updated = max((entry.feed_date for entry in entries), default=now)

    def add(feed: FeedGenerator) -> None:
        for entry in entries:
            _add_entry(feed, entry, pages_url)

    return _documents(title, subtitle, base_url, name, updated, add)


def render_health(events: Sequence[HealthEvent], *, base_url: str, now: datetime) -> FeedDocuments:
    """Sources that have been failing for too long, and their recoveries."""
    updated = max((event.at for event in events), default=now)

    def add(feed: FeedGenerator) -> None:
        for event in events:
            item = feed.add_entry(order="append")
            uid = f"urn:uuid:{event.uid}"
            item.id(uid)
            item.guid(uid, permalink=False)
            label = "Unhealthy" if event.kind == HealthKind.UNHEALTHY else "Recovered"
            item.title(_xml(f"{label}: {event.source}"))
            item.link(href=f"{base_url}/feeds/")
            item.author({"name": "watcher"})
            item.published(event.at)
            item.updated(event.at)
            item.content(_xml(f"<p>{html.escape(event.message)}</p>"), type="html")

    return _documents(
        "watcher: source health", "Sources failing for too long, and recovered", base_url,
        "health", updated, add,
    )  # fmt: skip


def _documents(
    title: str,
    subtitle: str,
    base_url: str,
    name: str,
    updated: datetime,
    add_entries: Callable[[FeedGenerator], object],
) -> FeedDocuments:
    atom_url = f"{base_url}/feeds/{name}.atom"
    rss_url = f"{base_url}/feeds/{name}.rss"
    documents = []
    for self_url, kind in ((atom_url, "atom"), (rss_url, "rss")):
        feed = FeedGenerator()
        feed.id(atom_url)
        feed.title(_xml(title))
        feed.subtitle(_xml(subtitle))
        feed.author({"name": "watcher"})
        feed.link(href=f"{base_url}/feeds/", rel="alternate")
        feed.link(href=self_url, rel="self")
        feed.language("en")
        feed.generator("watcher", __version__)
        feed.updated(updated)
        feed.lastBuildDate(updated)
        add_entries(feed)
        documents.append(
            feed.atom_str(pretty=True) if kind == "atom" else feed.rss_str(pretty=True)
        )
    return FeedDocuments(atom=documents[0], rss=documents[1])


def write(directory: Path, name: str, documents: FeedDocuments) -> None:
    """Each file whose bytes changed. A feed is rendered the same until its entries change, so
    one left as it was keeps its date and ETag (readers get 304) and costs no disk sync."""
    directory.mkdir(parents=True, exist_ok=True)
    for path, data in (
        (directory / f"{name}.atom", documents.atom),
        (directory / f"{name}.rss", documents.rss),
    ):
        try:
            if path.read_bytes() == data:
                continue
        except OSError:
            pass  # none yet, or unreadable: written anew
        atomic_write(path, data)


def atomic_write(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one, even after a crash."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def entry_title(entry: ChangeEntry) -> str:
    return f"{_KIND_LABEL[entry.kind]}: {entry.title or entry.url}"


def entry_html(entry: ChangeEntry, pages_url: str | None = None) -> str:
    """What a reader shows for one change; only our own markup around sanitised content."""
    return _change_html(entry) + _history_html(entry, pages_url)


def _history_html(entry: ChangeEntry, pages_url: str | None) -> str:
    url = history_url(pages_url, entry.related_id or entry.release_id)
    if url is None:
        return ""
    href = html.escape(url)
    return f'<p>History and diff: <a href="{href}">{href}</a></p>'


def _change_html(entry: ChangeEntry) -> str:
    published = f", published {entry.published:%d %B %Y}" if entry.published else ""
    link = f'<a href="{html.escape(web_url(entry.url))}">{html.escape(entry.url)}</a>'
    if entry.kind == ChangeKind.NEW:
        head = f"<p>New release on {html.escape(entry.source)}{published}: {link}</p>"
        return head + entry.html
    if entry.kind == ChangeKind.EDITED:
        edited = f"<p>This release was edited{published}: {link}</p>" + _edit_html(entry)
        return edited + copies_told.html_lines(entry)
    if entry.kind == ChangeKind.ALSO_PUBLISHED:
        return copies_told.html_lines(entry)
    if entry.kind == ChangeKind.DIVERGED:
        return copies_told.html_lines(entry) + _edit_html(entry)
    if entry.kind == ChangeKind.REMOVED:
        return (
            f"<p>This release is no longer on {html.escape(entry.source)}: {link} "
            "answered as missing twice in a row. Every version is kept.</p>"
        )
    changed = _edit_html(entry) if entry.diff else "<p>Its text is unchanged.</p>"
    return f"<p>This release is back after being removed: {link}</p>" + changed


# An edit's word diff is the costly part of a feed (its two versions compared word by word),
# and the same entry is rendered for Atom and RSS, in the topics' feeds, and at every rebuild
# until newer changes push it out: each entry (a frozen value) is compared once.
@lru_cache(maxsize=1024)
def _edit_html(entry: ChangeEntry) -> str:
    edit = change_diff(entry)
    return edit_html(edit) if edit is not None else ""


def _add_entry(feed: FeedGenerator, entry: ChangeEntry, pages_url: str | None) -> None:
    item = feed.add_entry(order="append")
    uid = f"urn:uuid:{entry.uid}"
    item.id(uid)
    item.guid(uid, permalink=False)
    item.title(_xml(entry_title(entry)))
    item.link(href=web_url(entry.url))
    item.author({"name": entry.source})
    item.published(entry.feed_date)
    item.updated(entry.feed_date)
    item.content(_xml(entry_html(entry, pages_url)), type="html")
    item.category(term=entry.kind.value, label=_KIND_LABEL[entry.kind])


def _xml(text: str) -> str:
    """Characters XML 1.0 cannot carry are dropped, whatever a page contained."""
    return _NOT_XML.sub("", text)
