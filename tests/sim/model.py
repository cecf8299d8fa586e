"""What the simulated site's modules share: its fixtures and constants, a post, a request and
the (status, headers, body) every route answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from tests.sim.wordpress import SimWordPress

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHALLENGE_PAGE = (FIXTURES / "challenge-sucuri.html").read_bytes()
POSTS_PER_PAGE = 10  # WordPress's default for listings and feeds

Response = tuple[int, dict[str, str], bytes]


@dataclass
class Post:
    id: int
    slug: str
    title: str  # raw, as typed in the editor
    content: str  # raw; wpautop and wptexturize apply when rendered
    date_gmt: datetime
    modified_gmt: datetime
    categories: list[str]
    status: str = "publish"
    old_slugs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    path: str
    raw_query: str
    headers: Any  # the request's headers (email.message.Message)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.raw_query, keep_blank_values=True)

    def arg(self, name: str) -> str | None:
        values = [value for key, value in self.pairs if key == name]
        return values[-1] if values else None

    @property
    def target(self) -> str:
        return f"{self.path}?{self.raw_query}" if self.raw_query else self.path


NO_CACHE = {
    "Expires": "Wed, 11 Jan 1984 05:00:00 GMT",
    "Cache-Control": "no-cache, must-revalidate, max-age=0",
}


def api_link(site: SimWordPress) -> str:
    return f'<{site.url}/wp-json/>; rel="https://api.w.org/"'
