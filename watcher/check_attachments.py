"""The attachments (PDFs) of a check's releases: those of each release read, and, after the
source's walk, those of the releases due on the revisit schedule whose page was not read again
(WordPress's `modified_gmt` does not move when a media file is replaced, and a page answering
304 says nothing of the PDF it links to).

Attachments are read with a fetch session of their own (the same fetcher, hence the same host
limits, robots.txt and follow_hosts, with the attachments' size cap), which counts their
requests apart. One that cannot be read is that attachment's failure (an ItemFailed, and its
row's `error`), never the release's or the check's; nor does reading attachments ever cut a
check short: what the check's deadline leaves no time for is read at a later check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from watcher.attachments import Failed, Fresh, Same, read, readable
from watcher.fetch import FetchSession
from watcher.models import AttachmentState, ReleaseSnapshot, SourceView
from watcher.sources.base import Budget, ItemFailed, Revisit
from watcher.store import Store

_LONG_AGO = datetime.min.replace(tzinfo=UTC)


def has_readable(snapshot: ReleaseSnapshot) -> bool:
    return any(readable(a.url) for a in snapshot.attachments)


class AttachmentReader:
    def __init__(
        self,
        session: FetchSession,
        store: Store,
        source_id: int,
        budget: Budget,
        clock: Callable[[], datetime],
    ) -> None:
        self.session = session
        self.store = store
        self.source_id = source_id
        self.budget = budget
        self.clock = clock

    def complete(
        self, snapshot: ReleaseSnapshot, states: Mapping[str, AttachmentState]
    ) -> tuple[ReleaseSnapshot, list[AttachmentState], list[ItemFailed]]:
        """The reading with the texts of its attachments read now (conditionally: an attachment
        not modified has no text here, and keeps the one stored), how each was asked for, and
        those that failed."""
        attachments = []
        asked: list[AttachmentState] = []
        failed = []
        for linked in snapshot.attachments:
            url, attachment = linked.url, linked
            state = states.get(url, AttachmentState(url))
            if not readable(url) or not self.budget.has_time():
                attachments.append(attachment)
                if readable(url):
                    asked.append(state)  # its row, never asked yet: a later check asks
                continue
            reading = read(self.session, url, state.validators)
            now = self.clock()
            match reading:
                case Fresh(text, validators):
                    attachment = replace(attachment, text=text)
                    state = AttachmentState(url, validators, now, None)
                case Same(validators):
                    state = AttachmentState(url, validators or state.validators, now, None)
                case Failed(reason):
                    # the text read before (if any) stays, and so do its validators
                    state = replace(state, checked_at=now, error=reason)
                    failed.append(ItemFailed(url, f"attachment not read: {reason}"))
            attachments.append(attachment)
            asked.append(state)
        return replace(snapshot, attachments=tuple(attachments)), asked, failed

    def due(self, view: SourceView, revisit: Revisit, done: set[str]) -> Iterator[str]:
        """The releases whose attachments are asked for again now, never asked first, then
        those asked longest ago: the known releases due on the revisit schedule (by when their
        attachments were asked, not when their page was read), but those read in this check."""
        plan = self.store.attachments_due_since(self.source_id)
        for key in sorted(plan, key=lambda k: (plan[k] is not None, plan[k] or _LONG_AGO)):
            known = view.releases.get(key)
            if key in done or known is None:
                continue  # read in this check, or stored meanwhile by another daemon's
            last = plan[key]
            if last is None or revisit.due(replace(known, last_seen=last)):
                yield key
