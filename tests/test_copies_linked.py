"""Copies across sources as users meet them: the simulated asean.org and a simulated ministry of
foreign affairs that re-posts its releases (tests/sim/ministry.py), both watched. A re-post is
told once, as "Also published" under the Secretariat's release; an edit of a figure in the
Secretariat's copy says the ministry's copy still carries the old text, and the copy's
difference is reported once; releases stored before a second source was watched are linked
silently."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from typing import Any

import feedparser
import httpx
import pytest
import sqlalchemy as sa

from tests.corpus_copies import REAL_ORIGIN_TEXT, REAL_ORIGIN_TITLE
from tests.helpers import free_port, mail_settings, run_watcher, wordpress_source
from tests.sim.ministry import SimMinistry, ministry_source
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.models import ChangeKind, CheckStatus
from watcher.store.tables import COPY_BAND, RELEASE
from watcher.web.app import Site
from watcher.web.server import WebServer

# on SQLite and on PostgreSQL: the bands' BIGINTs, the notes' JSON, the stories' updates
pytestmark = pytest.mark.databases

NOW = datetime.now(UTC).replace(microsecond=0)
TOPICS = {"russia": {"title": "ASEAN–Russia", "any": ["Russia"]}}
OLD_FIGURE, NEW_FIGURE = "held on 20 February", "held on 19 February"


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


@pytest.fixture
def sites() -> Iterator[tuple[SimWordPress, SimMinistry]]:
    """The Secretariat with one release of its own, the ministry with one statement of its own."""
    with SimWordPress() as asean, SimMinistry() as ministry:
        asean.add_post(
            "ASEAN Secretariat hosts the Committee of Permanent Representatives",
            "<p>The Committee of Permanent Representatives met at the Secretariat today.</p>",
            date_gmt=NOW - timedelta(days=3),
        )
        ministry.add_statement(
            "Minister for Foreign Affairs' Official Visit to Japan",
            ["The Minister will make an Official Visit to Japan.", "He will call on leaders."],
            (NOW - timedelta(days=3)).date(),
        )
        yield asean, ministry


def watching(
    make_app: Callable[..., App], asean: SimWordPress, ministry: SimMinistry, **settings: Any
) -> App:
    sources = [
        wordpress_source(asean, categories=["news"]),
        ministry_source(ministry, **settings.pop("mfa", {})),
    ]
    settings["topics"] = TOPICS
    return make_app(sources, **settings)


def the_release_and_its_repost(asean: SimWordPress, ministry: SimMinistry) -> tuple[int, str]:
    post = asean.add_post(
        REAL_ORIGIN_TITLE,
        "".join(f"<p>{p}</p>" for p in paragraphs(REAL_ORIGIN_TEXT)),
        date_gmt=NOW - timedelta(days=1),
    )
    slug = ministry.repost(REAL_ORIGIN_TITLE, REAL_ORIGIN_TEXT, NOW.date(), headline="upper")
    return post, slug


def check(app: App, *names: str) -> None:
    for result in app.check(names):
        assert result.status == CheckStatus.OK, result.error


def feed(app: App, name: str = "all") -> Any:
    app.build_feeds()
    return feedparser.parse((app.config.feeds_dir / f"{name}.atom").read_bytes())


def topic_feed(app: App, topic: str) -> Any:
    return feed(app, f"topics/{topic}")


def test_a_repost_is_told_once_and_the_copy_testifies_to_a_later_edit(
    sites: tuple[SimWordPress, SimMinistry], make_app: Callable[..., App]
) -> None:
    asean, ministry = sites
    app = watching(make_app, asean, ministry)
    check(app, "asean", "mfa")  # the first checks: what the sites hold already

    post, slug = the_release_and_its_repost(asean, ministry)
    check(app, "asean", "mfa")
    kinds = [c.kind for c in app.store.recent_changes(10) if not c.baseline]
    assert kinds == [ChangeKind.ALSO_PUBLISHED, ChangeKind.NEW]  # no NEW for the copy

    entries = feed(app).entries
    fresh = [e for e in entries if REAL_ORIGIN_TITLE in e.title]
    assert [e.title for e in fresh] == [
        f"Also published: {REAL_ORIGIN_TITLE}",
        f"New: {REAL_ORIGIN_TITLE}",
    ]
    also = fresh[0]
    origin_url = asean.link(post)
    assert also.link == origin_url  # the entry links to the origin ...
    content = also.content[0].value
    assert f'href="{ministry.link(slug)}"' in content  # ... and names the copy, with its link
    assert "Also published by mfa on " in content and "First published by asean" in content
    # filed under the origin's topic
    assert f"Also published: {REAL_ORIGIN_TITLE}" in [
        e.title for e in topic_feed(app, "russia").entries
    ]

    # the Secretariat edits a figure: the ministry's copy still has the old one
    asean.edit_post(
        post,
        content="".join(
            f"<p>{p}</p>" for p in paragraphs(REAL_ORIGIN_TEXT.replace(OLD_FIGURE, NEW_FIGURE))
        ),
    )
    check(app, "asean")
    edited, diverged = sorted(
        (
            c
            for c in app.store.recent_changes(10)
            if c.kind in (ChangeKind.EDITED, ChangeKind.DIVERGED)
        ),
        key=lambda c: c.kind != ChangeKind.EDITED,
    )
    assert edited.kind == ChangeKind.EDITED and edited.note is not None
    [witness] = edited.note.copies
    assert (witness.source, witness.url, witness.carries) == ("mfa", ministry.link(slug), "old")
    assert diverged.kind == ChangeKind.DIVERGED and diverged.url == ministry.link(slug)

    by_title = {e.title: e for e in feed(app).entries}
    edit = by_title[f"Edited: {REAL_ORIGIN_TITLE}"].content[0].value
    assert "The copy at mfa still carries the old text" in edit
    divergence = by_title[f"Diverged: {REAL_ORIGIN_TITLE}"].content[0].value
    assert "The copy at mfa" in divergence and "differs from asean" in divergence
    assert "1 figure changed: 19 → 20" in divergence  # the origin's word, then the copy's
    assert re.search(r"held on <del[^>]*>19</del><ins[^>]*>20</ins> February", divergence)

    metrics = app.metrics.exposition().decode()
    assert 'watcher_changes_total{kind="diverged",source="asean"} 1.0' in metrics
    assert 'watcher_changes_total{kind="also_published",source="mfa"} 1.0' in metrics

    # nothing new: nothing said again
    check(app, "asean", "mfa")
    again = [c.kind for c in app.store.recent_changes(20)]
    assert again.count(ChangeKind.DIVERGED) == 1

    # the ministry follows the edit: no divergence; then edits otherwise: a new one
    ministry.edit(
        slug,
        paragraphs=[
            p.replace(OLD_FIGURE, NEW_FIGURE) for p in ministry.statements[slug].paragraphs
        ],
    )
    check(app, "mfa")
    assert [c.kind for c in app.store.recent_changes(20)].count(ChangeKind.DIVERGED) == 1
    ministry.edit(
        slug,
        paragraphs=[
            p.replace("Igor Morgulov", "Sergey Ryabkov")
            for p in ministry.statements[slug].paragraphs
        ],
    )
    check(app, "mfa")
    assert [c.kind for c in app.store.recent_changes(20)].count(ChangeKind.DIVERGED) == 2


def test_a_copy_met_before_its_original_keeps_its_entry_and_the_original_is_told_under_it(
    sites: tuple[SimWordPress, SimMinistry], make_app: Callable[..., App]
) -> None:
    asean, ministry = sites
    app = watching(make_app, asean, ministry)
    check(app, "asean", "mfa")
    post, slug = the_release_and_its_repost(asean, ministry)
    check(app, "mfa", "asean")  # the ministry's check runs first
    fresh = [c for c in app.store.recent_changes(10) if not c.baseline]
    assert [(c.kind, c.url) for c in fresh] == [
        (ChangeKind.ALSO_PUBLISHED, asean.link(post)),
        (ChangeKind.NEW, ministry.link(slug)),
    ]
    also = fresh[0]
    assert also.note is not None and also.note.origin is not None and also.note.copy is not None
    assert (also.note.origin.source, also.note.copy.source) == ("asean", "mfa")


def test_a_copy_sends_no_instant_mail_and_a_digest_lists_it_under_its_origin(
    sites: tuple[SimWordPress, SimMinistry], make_app: Callable[..., App]
) -> None:
    asean, ministry = sites
    settings = mail_settings(free_port(), mode="instant")
    app = watching(make_app, asean, ministry, **settings)
    app.prepare()
    check(app, "asean", "mfa")
    post, _ = the_release_and_its_repost(asean, ministry)
    check(app, "asean", "mfa")
    app.deliverer.enqueue_instant()
    subjects = [m.subject for m in app.store.outbox(sent=False)]
    assert subjects == [f"[ASEAN–Russia] New: {REAL_ORIGIN_TITLE}"]  # none for the copy
    asean.edit_post(
        post,
        content="".join(
            f"<p>{p}</p>" for p in paragraphs(REAL_ORIGIN_TEXT.replace(OLD_FIGURE, NEW_FIGURE))
        ),
    )
    check(app, "asean")
    app.deliverer.enqueue_instant()
    subjects = [m.subject for m in app.store.outbox(sent=False)][1:]
    assert sorted(subjects) == [
        f"[ASEAN–Russia] Diverged: {REAL_ORIGIN_TITLE}",
        f"[ASEAN–Russia] Edited: {REAL_ORIGIN_TITLE}",
    ]
    owed = app.store.changes_after(0, ["russia"], until_id=app.store.newest_change_id())
    fresh = [c for c in owed if not c.baseline and c.kind != ChangeKind.EDITED]
    fresh = [c for c in fresh if c.kind != ChangeKind.DIVERGED]
    assert {c.kind for c in fresh} == {ChangeKind.NEW, ChangeKind.ALSO_PUBLISHED}

    from watcher import mail

    envelope = mail.Envelope("watcher <w@example.org>", ("reader@example.org",), "UTC")
    digest = mail.compose_digest(
        envelope,
        topic_titles={"russia": "ASEAN–Russia"},
        entries=fresh,
        since=None,
        now=NOW,
        message_id="<1@example.org>",
    )
    parsed = BytesParser(policy=policy.default).parsebytes(bytes(digest))
    assert "1 new, 1 also published" in parsed["Subject"]
    plain = parsed.get_body(("plain",))
    assert plain is not None
    body = plain.get_content()
    story = body.split(f"NEW: {REAL_ORIGIN_TITLE}", 1)[1]
    assert "   Also published by mfa on " in story  # one story, several links
    assert body.count(REAL_ORIGIN_TITLE) >= 1 and "ALSO PUBLISHED:" not in body


def test_releases_stored_before_copies_were_linked_are_linked_silently(
    sites: tuple[SimWordPress, SimMinistry], make_app: Callable[..., App]
) -> None:
    asean, ministry = sites
    _, slug = the_release_and_its_repost(asean, ministry)
    # as before this version: the copy told as NEW, nothing linked, no bands
    before = watching(make_app, asean, ministry, mfa={"copies": "separate"})
    check(before, "asean", "mfa")
    with before.store.engine.begin() as connection:
        connection.execute(sa.delete(COPY_BAND))
        connection.execute(sa.update(RELEASE).values(signed_version=None))
    before.close()

    after = watching(make_app, asean, ministry)
    counted = len(after.store.recent_changes(50))
    after.prepare()  # what every start does
    assert len(after.store.recent_changes(50)) == counted  # no entry, hence no mail
    copy = after.store.history(ministry.link(slug))
    assert copy is not None and len(copy.story) == 2
    assert copy.release.copy_of is not None
    assert copy.release.similarity is not None and copy.release.similarity > 0.9
    origin = next(m for m in copy.story if m.id != copy.release.id)
    assert origin.source == "asean"
    # and the next checks say nothing more of it
    check(after, "asean", "mfa")
    assert len(after.store.recent_changes(50)) == counted


@pytest.mark.slow
def test_the_story_on_the_command_line_and_the_release_page(
    sites: tuple[SimWordPress, SimMinistry], make_app: Callable[..., App]
) -> None:
    asean, ministry = sites
    app = watching(make_app, asean, ministry)
    check(app, "asean", "mfa")
    post, slug = the_release_and_its_repost(asean, ministry)
    check(app, "asean", "mfa")
    config = app.config.path

    listed = run_watcher("releases", "--json", config=config)
    assert listed.returncode == 0, listed.stderr
    releases = {r["url"]: r for r in json.loads(listed.stdout)}
    origin, copy = releases[asean.link(post)], releases[ministry.link(slug)]
    assert origin["story"] == copy["story"] is not None
    assert copy["copy_of"] == origin["id"] and copy["similarity"] > 0.9
    assert origin["copy_of"] is None

    shown = run_watcher("history", str(copy["id"]), config=config)
    assert shown.returncode == 0, shown.stderr
    assert f"  origin: release {origin['id']} of asean {asean.link(post)}" in shown.stdout
    assert f"  copy, {copy['similarity']:.2f} alike: release {copy['id']} of mfa (this one)" in (
        shown.stdout
    )
    story = json.loads(run_watcher("history", "--json", str(origin["id"]), config=config).stdout)
    assert [(m["id"], m["origin"]) for m in story["story"]] == [
        (origin["id"], True),
        (copy["id"], False),
    ]
    # the origin's history holds its copy's "also published"
    assert "also_published" in [c["kind"] for c in story["changes"]]

    web = WebServer(
        "127.0.0.1:0",
        Site(
            app.config.feeds_dir, lambda: (True, ""), reader=app.store, sources=app.config.sources
        ),
    )
    web.start()
    try:
        page = httpx.get(f"http://127.0.0.1:{web.port}/releases/{copy['id']}", timeout=15).text
    finally:
        web.stop()
    copies = page.split('<section id="copies"', 1)[1].split("</section>", 1)[0]
    assert "First published by asean" in copies and f'href="/releases/{origin["id"]}"' in copies
    assert "Copy at mfa" in copies and "this release" in copies
