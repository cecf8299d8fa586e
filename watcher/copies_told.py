"""What a change says of copies across sources, in the same words in the feeds, the mail and the
pages: "Also published by mfa ...", "The copy at mfa differs from asean's ...", and of an edit
of an origin, what text each copy still carries."""

from __future__ import annotations

import html
from datetime import datetime

from watcher.models import ChangeEntry, ChangeKind
from watcher.story import CopyNote, CopyRef
from watcher.urls import web_url

CARRIES = {
    "old": "still carries the old text",
    "earlier": "still carries an earlier text, from before the last edit but one",
    "new": "carries the new text",
    "other": "differs from the new text and from every earlier one",
}


def _day(moment: datetime | None) -> str:
    return f" on {moment:%d %B %Y}" if moment else ""


def _link(ref: CopyRef) -> str:
    href = html.escape(web_url(ref.url))
    return f'<a href="{href}">{html.escape(ref.title or ref.url)}</a>'


def lines(entry: ChangeEntry) -> list[str]:
    """The sentences, as plain text (each with its links written out)."""
    note: CopyNote | None = entry.note
    if note is None:
        return []
    if entry.kind == ChangeKind.ALSO_PUBLISHED and note.copy and note.origin:
        copy, origin = note.copy, note.origin
        return [
            f"Also published by {copy.source}{_day(copy.published)}: {copy.title} <{copy.url}>",
            f"First published by {origin.source}{_day(origin.published)}: <{origin.url}>",
        ]
    if entry.kind == ChangeKind.DIVERGED and note.copy and note.origin:
        copy, origin = note.copy, note.origin
        return [
            f"The copy at {copy.source} <{copy.url}> differs from {origin.source}'s <{origin.url}>:"
        ]
    return [
        f"The copy at {copy.source} {CARRIES.get(copy.carries, 'differs')} <{copy.url}>"
        for copy in note.copies
    ]


def html_lines(entry: ChangeEntry) -> str:
    """The sentences as paragraphs, for a feed entry, a mail or a page."""
    note: CopyNote | None = entry.note
    if note is None:
        return ""
    if entry.kind == ChangeKind.ALSO_PUBLISHED and note.copy and note.origin:
        copy, origin = note.copy, note.origin
        return (
            f"<p>Also published by {html.escape(copy.source)}{_day(copy.published)}: "
            f"{_link(copy)}</p>"
            f"<p>First published by {html.escape(origin.source)}{_day(origin.published)}: "
            f"{_link(origin)}</p>"
        )
    if entry.kind == ChangeKind.DIVERGED and note.copy and note.origin:
        copy, origin = note.copy, note.origin
        return (
            f"<p>The copy at {html.escape(copy.source)} ({_link(copy)}) differs from "
            f"{html.escape(origin.source)}'s ({_link(origin)}):</p>"
        )
    return "".join(
        f"<p>The copy at {html.escape(copy.source)} "
        f"{CARRIES.get(copy.carries, 'differs')}: {_link(copy)}</p>"
        for copy in note.copies
    )
