"""What a test may do to a WordPress site, simulated or real.

Both the simulated site (tests/sim/wordpress.py) and a real WordPress from Debian's package
(tests/realwp/server.py) implement this, so the contract tests can hold the simulation to what
WordPress really does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

# Categories every site is created with: slug -> name, as on asean.org.
CATEGORIES = {
    "news": "News",
    "statements-meetings": "Statements & Meetings",
    "speeches": "Speeches",
}
SITE_NAME = "ASEAN Main Portal"
SITE_TIMEZONE = "Asia/Jakarta"  # UTC+7, no DST: offsetless dates differ from UTC by 7 hours


class WordPressSite(Protocol):
    url: str  # http://127.0.0.1:PORT, no trailing slash

    def add_post(
        self,
        title: str,
        content: str,
        *,
        categories: Sequence[str] = ("news",),
        date_gmt: datetime | None = None,
        slug: str | None = None,
    ) -> int:
        """Publish a post (content as typed in the editor: raw text, wpautop applies)."""
        ...

    def edit_post(
        self, post_id: int, *, title: str | None = None, content: str | None = None
    ) -> None: ...

    def set_modified(self, post_id: int, modified_gmt: datetime) -> None:
        """Force post_modified_gmt (and post_modified in site time), as a direct DB write would."""
        ...

    def change_slug(self, post_id: int, slug: str) -> None: ...

    def trash_post(self, post_id: int) -> None: ...

    def untrash_post(self, post_id: int) -> None: ...

    def set_tagline(self, text: str) -> None: ...

    def set_timezone(self, name: str) -> None:
        """The site's time zone (Settings > General), for what is stored and compared after."""
        ...
