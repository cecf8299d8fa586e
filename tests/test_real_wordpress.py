"""The watcher against a real WordPress (Debian's package, tests/realwp), as a user would run it.

Three sources watch the same category three ways (REST API, feed and pages, listing and pages):
each reads every post to the same text, sees a silent edit as an edit with the changed words,
ignores a tagline change, and marks a trashed post removed after two misses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import write_config
from tests.realwp.fixtures import real_wordpress  # noqa: F401  (a fixture, used by name)
from tests.realwp.server import RealWordPress
from watcher.app import App
from watcher.config import load_config
from watcher.models import ChangeKind, CheckStatus, ReleaseStatus

pytestmark = [pytest.mark.realwp, pytest.mark.slow]

BODY = (
    'JAKARTA, 27 May 2026 -- The ASEAN-Russia "Senior Officials" Meeting convened today.\n\n'
    "It's the 16th meeting... The officials reviewed 10--12 projects.\n\n"
    '<a href="/wp-content/uploads/2026/05/Joint-Statement.pdf">Download the full Statement here</a>'
)


@pytest.fixture
def app(real_wordpress: RealWordPress, tmp_path: Path) -> Iterator[App]:  # noqa: F811
    site = real_wordpress.url
    sources: list[dict[str, Any]] = [
        {
            "name": "api",
            "type": "wordpress",
            "url": site,
            "categories": ["statements-meetings"],
            "sweep_every": "0s",
        },
        {
            "name": "feed",
            "type": "feed",
            "url": f"{site}/category/statements-meetings/feed/",
            "profile": "wordpress",
        },
        {
            "name": "pages",
            "type": "html",
            "url": f"{site}/category/statements-meetings/",
            "profile": "wordpress",
            "max_pages": 3,
        },
    ]
    application = App(load_config(write_config(tmp_path, sources)))
    yield application
    application.close()


def counts(app: App) -> dict[str, tuple[CheckStatus, int, int, int]]:
    return {
        r.source: (
            r.status,
            r.count(ChangeKind.NEW),
            r.count(ChangeKind.EDITED),
            r.count(ChangeKind.REMOVED),
        )
        for r in app.check()
    }


def texts(app: App, url: str) -> dict[str, str]:
    found = {}
    for release in app.store.releases():
        if release.url == url:
            history = app.store.history(str(release.id))
            assert history is not None
            found[release.source] = history.versions[-1].text
    return found


def test_three_ways_to_read_a_real_wordpress(real_wordpress: RealWordPress, app: App) -> None:  # noqa: F811
    site = real_wordpress
    first = site.add_post(
        "ASEAN-Russia Senior Officials' Meeting", BODY, categories=["statements-meetings"]
    )
    baseline = counts(app)
    assert {name: result[0] for name, result in baseline.items()} == dict.fromkeys(
        ("api", "feed", "pages"), CheckStatus.OK
    )

    link = next(r.url for r in app.store.releases() if r.key == f"wp:{first}" and r.source == "api")
    read = texts(app, link)
    assert set(read) == {"api", "feed", "pages"}
    assert read["api"] == read["feed"] == read["pages"]  # one post, one text, whatever the path
    assert read["api"].startswith(
        "JAKARTA, 27 May 2026 — The ASEAN-Russia “Senior Officials” Meeting"
    )
    assert "10–12 projects" in read["api"]
    keys = {r.source: r.key for r in app.store.releases() if r.url == link}
    assert keys == dict.fromkeys(("api", "feed", "pages"), f"wp:{first}")

    second = site.add_post(
        "Joint Statement of the ASEAN-Japan Meeting",
        "TOKYO, 1 June 2026 -- Adopted.",
        categories=["statements-meetings"],
    )
    site.edit_post(first, content=BODY.replace("10--12 projects", "10--14 projects"))
    after_edit = counts(app)
    assert after_edit == dict.fromkeys(("api", "feed", "pages"), (CheckStatus.OK, 1, 1, 0))
    edited = [e for e in app.store.recent_changes(50) if e.kind == ChangeKind.EDITED]
    assert len(edited) == 3
    for entry in edited:
        assert "-It’s the 16th meeting… The officials reviewed 10–12 projects." in entry.diff
        assert "+It’s the 16th meeting… The officials reviewed 10–14 projects." in entry.diff

    site.set_tagline("A new tagline on every page")
    assert counts(app) == dict.fromkeys(("api", "feed", "pages"), (CheckStatus.OK, 0, 0, 0))

    site.trash_post(second)
    once = counts(app)
    assert once["api"] == once["pages"] == (CheckStatus.OK, 0, 0, 0)  # one miss is not a removal
    twice = counts(app)
    assert twice["api"] == twice["pages"] == (CheckStatus.OK, 0, 0, 1)
    removed = {r.source for r in app.store.releases() if r.status == ReleaseStatus.REMOVED}
    assert {"api", "pages"} <= removed
