"""What the watcher keeps of a story, one release's copies across sources (watcher/linking.py):
its releases, and what a change says of them. Plain values, apart from models.py's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class CopyRef:
    """A release of a story, as a change about copies names it."""

    source: str
    title: str
    url: str
    published: datetime | None = None
    # of a copy, when its origin was edited: the text it carries, "old" (the one replaced),
    # "earlier", "new" or "other"
    carries: str = ""


@dataclass(frozen=True, slots=True)
class CopyNote:
    """What a change says of copies: ALSO_PUBLISHED and DIVERGED name the story's origin and the
    copy; an origin's EDITED, each copy and the text it carries."""

    origin: CopyRef | None = None
    copy: CopyRef | None = None
    copies: tuple[CopyRef, ...] = ()

    def to_json(self) -> dict[str, Any]:
        def ref(r: CopyRef) -> dict[str, Any]:
            published = r.published.isoformat() if r.published else None
            return {"source": r.source, "title": r.title, "url": r.url, "published": published,
                    "carries": r.carries}  # fmt: skip

        return {
            "origin": ref(self.origin) if self.origin else None,
            "copy": ref(self.copy) if self.copy else None,
            "copies": [ref(c) for c in self.copies],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> CopyNote | None:
        if not data:
            return None

        def ref(d: dict[str, Any] | None) -> CopyRef | None:
            if d is None:
                return None
            published = datetime.fromisoformat(d["published"]) if d.get("published") else None
            return CopyRef(d["source"], d["title"], d["url"], published, d.get("carries", ""))

        copies = tuple(r for r in (ref(c) for c in data.get("copies", [])) if r is not None)
        return cls(ref(data.get("origin")), ref(data.get("copy")), copies)


@dataclass(frozen=True, slots=True)
class StoryMember:
    """A release of a story: one release's copies across sources."""

    id: int
    source: str
    url: str
    title: str
    published: datetime | None
    first_seen: datetime
    copy_of: int | None
    similarity: float | None
