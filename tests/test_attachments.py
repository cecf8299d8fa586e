"""Attachments end to end: PDFs made here, served by the simulated WordPress site's media
library, read by the checks (through the REST API, and through the article pages)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import ShiftedClock, wordpress_source
from tests.pdfs import BROKEN_PDF, text_pdf
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.attachments import extract_text
from watcher.models import ChangeKind, CheckStatus

# The store's behaviour, on SQLite and on PostgreSQL.
pytestmark = pytest.mark.databases

ANNEX = "/wp-content/uploads/2026/06/Annex.pdf"
PLAN = "/wp-content/uploads/2026/06/Plan.pdf"
ANNEX_PAGE = ["Annex to the Joint Statement", "The Ministers agreed to meet in Hanoi."]


def body(*links: tuple[str, str]) -> str:
    anchors = " ".join(f'<a href="{path}">{label}</a>' for path, label in links)
    return f"The Ministers met in Jakarta.\n\nDocuments: {anchors}"


def changes(app: App) -> list[tuple[ChangeKind, str]]:
    return [(e.kind, e.diff) for e in reversed(app.store.recent_changes(50))]


def only_change(app: App, kind: ChangeKind) -> str:
    found = [diff for k, diff in changes(app) if k == kind]
    assert len(found) == 1, changes(app)
    return found[0]


@pytest.fixture
def annexed(site: SimWordPress) -> int:
    site.upload(ANNEX, text_pdf(ANNEX_PAGE, ["Page two."]))
    post = site.add_post("Joint Statement", body((ANNEX, "Annex")))
    # edited a minute ago: a modification within the last seconds is read again, to be sure
    site.set_modified(post, datetime.now(UTC) - timedelta(minutes=1))
    return post


def test_a_new_release_brings_its_pdf_text_without_an_entry_of_its_own(
    site: SimWordPress, annexed: int, make_app: Callable[..., App]
) -> None:
    app = make_app([wordpress_source(site)])
    [result] = app.check()

    assert result.status == CheckStatus.OK
    assert [kind for kind, _ in changes(app)] == [ChangeKind.NEW]
    assert result.attachment_requests == 1
    history = app.store.history(site.link(annexed))
    assert history is not None
    [annex] = history.versions[-1].attachments
    assert (
        annex.text
        == "Annex to the Joint Statement\nThe Ministers agreed to meet in Hanoi.\n\nPage two."
    )


def test_a_pdf_replaced_behind_an_unchanged_post_is_an_edit_showing_its_words(
    site: SimWordPress, annexed: int, make_app: Callable[..., App]
) -> None:
    app = make_app([wordpress_source(site)])
    app.check()
    modified = site.posts[annexed].modified_gmt
    site.upload(
        ANNEX,
        text_pdf(
            ["Annex to the Joint Statement", "The Ministers agreed to meet in Manila."],
            ["Page two."],
        ),
    )

    [result] = app.check()

    assert site.posts[annexed].modified_gmt == modified  # WordPress's post never moved
    assert result.count(ChangeKind.EDITED) == 1
    diff = only_change(app, ChangeKind.EDITED)
    assert "-The Ministers agreed to meet in Hanoi." in diff
    assert "+The Ministers agreed to meet in Manila." in diff
    history = app.store.history(site.link(annexed))
    assert history is not None and len(history.versions) == 2


def test_new_bytes_with_the_same_words_are_no_edit(
    site: SimWordPress, annexed: int, make_app: Callable[..., App]
) -> None:
    app = make_app([wordpress_source(site)])
    app.check()
    rewritten = text_pdf([*ANNEX_PAGE, ""], ["Page   two."])  # another layout, the same words
    site.upload(ANNEX, rewritten)

    [result] = app.check()

    assert [(h.path, h.status) for h in site.requests_to(ANNEX)][-1] == (ANNEX, 200)
    assert not result.changed
    assert [kind for kind, _ in changes(app)] == [ChangeKind.NEW]


def test_an_unchanged_pdf_is_asked_for_conditionally_and_counted_apart(
    site: SimWordPress, annexed: int, make_app: Callable[..., App]
) -> None:
    app = make_app([wordpress_source(site, sweep_every="1h")])
    app.check()
    site.clear_hits()

    [result] = app.check()

    assert [h.status for h in site.requests_to("/wp-content/uploads/")] == [304]
    assert (result.requests, result.attachment_requests) == (1, 1)
    assert not result.changed


def test_an_old_release_s_pdf_is_asked_for_on_its_revisit_schedule(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    """Published long ago: its PDF is asked for once a day (revisit.every), not every check."""
    clock = ShiftedClock()
    site.upload(ANNEX, text_pdf(ANNEX_PAGE))
    post = site.add_post(
        "Old statement", body((ANNEX, "Annex")), date_gmt=datetime(2024, 3, 1, tzinfo=UTC)
    )
    site.set_modified(post, datetime(2024, 3, 1, tzinfo=UTC))
    app = make_app([wordpress_source(site)], clock=clock)
    app.check()
    site.upload(ANNEX, text_pdf(["Annex, corrected"]))

    clock.advance(timedelta(minutes=15))
    [soon] = app.check()
    clock.advance(timedelta(hours=24))
    [day_later] = app.check()

    assert (soon.attachment_requests, soon.changed) == (0, False)
    assert day_later.attachment_requests == 1
    assert "+Annex, corrected" in only_change(app, ChangeKind.EDITED)


def test_an_attachment_added_or_removed_is_an_edit(
    site: SimWordPress, annexed: int, make_app: Callable[..., App]
) -> None:
    site.upload(PLAN, text_pdf(["Plan of Action 2026-2030"]))
    app = make_app([wordpress_source(site)])
    app.check()

    site.edit_post(annexed, content=body((ANNEX, "Annex"), (PLAN, "Plan of Action")))
    [added] = app.check()
    site.edit_post(annexed, content=body((PLAN, "Plan of Action")))
    [removed] = app.check()

    assert added.count(ChangeKind.EDITED) == removed.count(ChangeKind.EDITED) == 1
    first, second = [diff for kind, diff in changes(app) if kind == ChangeKind.EDITED]
    assert "+Attachment: Plan of Action" in first
    assert "+Plan of Action 2026-2030" in first
    assert "-Attachment: Annex" in second
    assert "-The Ministers agreed to meet in Hanoi." in second


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        (BROKEN_PDF, "unreadable PDF"),
        (text_pdf(["Confidential"], password="s3cret"), "encrypted PDF"),
        (b"<html><body>Log in</body></html>", "not a PDF"),
    ],
)
def test_a_pdf_that_cannot_be_read_is_a_failure_of_that_attachment_only(
    site: SimWordPress, make_app: Callable[..., App], served: bytes, reason: str
) -> None:
    site.upload(ANNEX, served)
    site.upload(PLAN, text_pdf(["Plan of Action"]))
    post = site.add_post("Statement", body((ANNEX, "Annex"), (PLAN, "Plan")))
    app = make_app([wordpress_source(site)])

    [result] = app.check()

    assert result.status == CheckStatus.OK
    assert result.count(ChangeKind.NEW) == 1
    assert result.failed_items == 1
    assert any(reason in note and ANNEX in note for note in result.notes), result.notes
    history = app.store.history(site.link(post))
    assert history is not None
    assert reason in history.attachment_failures[f"{site.url}{ANNEX}"]
    texts = {a.label: a.text for a in history.versions[-1].attachments}
    assert texts == {"Annex": None, "Plan": "Plan of Action"}

    site.upload(ANNEX, text_pdf(ANNEX_PAGE))  # mended: its first text, silently
    [mended] = app.check()
    assert not mended.changed and mended.failed_items == 0
    history = app.store.history(site.link(post))
    assert history is not None and not history.attachment_failures
    assert history.versions[-1].attachments[0].text == "\n".join(ANNEX_PAGE)


def test_the_pdfs_of_releases_stored_before_attachments_were_read_are_a_silent_baseline(
    site: SimWordPress, annexed: int, make_app: Callable[..., App]
) -> None:
    app = make_app([wordpress_source(site)])
    app.check()
    # what migration 0007 leaves: versions without texts, each PDF's row never asked for
    with app.store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE version SET attachments = :a"),
            {"a": f'[{{"url": "{site.url}{ANNEX}", "label": "Annex"}}]'},
        )
        connection.execute(
            sa.text("UPDATE attachment SET etag = NULL, body_hash = NULL, checked_at = NULL")
        )

    [result] = app.check()

    assert not result.changed and result.attachment_requests == 1
    assert [kind for kind, _ in changes(app)] == [ChangeKind.NEW]
    history = app.store.history(site.link(annexed))
    assert history is not None
    assert history.versions[-1].attachments[0].text is not None
    assert [h.status for h in site.requests_to(ANNEX)][-1] == 200  # whole, not conditionally


def test_pdfs_linked_from_article_pages_are_read_too(
    site: SimWordPress, annexed: int, make_app: Callable[..., App]
) -> None:
    """The html source (and WordPress's fallback) reads the same attachments."""
    source: dict[str, Any] = {
        "name": "pages",
        "type": "html",
        "profile": "asean",
        "url": f"{site.url}/category/news/",
    }
    app = make_app([source])
    app.check()
    site.upload(ANNEX, text_pdf(["Annex to the Joint Statement", "Agreed in Manila."]))

    [result] = app.check()

    assert result.count(ChangeKind.EDITED) == 1
    assert "+Agreed in Manila." in only_change(app, ChangeKind.EDITED)


def test_a_pdf_that_never_ends_extracting_is_stopped() -> None:
    """The child is killed at the time limit: a hostile PDF cannot hold a check."""
    with pytest.raises(ValueError, match="not extracted within"):
        extract_text(text_pdf(ANNEX_PAGE), limit=timedelta(seconds=0.001))
