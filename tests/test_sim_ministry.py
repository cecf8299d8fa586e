"""The watcher's `html` source against the simulated foreign ministry (tests/sim/ministry.py): a
site of its own theme that re-posts Secretariat releases, as the copies feature will meet."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.corpus_copies import REAL_ORIGIN_TEXT, REAL_ORIGIN_TITLE
from tests.helpers import ShiftedClock, run_watcher, write_config
from tests.sim.ministry import SimMinistry, ministry_source, repost_copy
from watcher.app import App
from watcher.models import ChangeKind, CheckStatus, ReleaseStatus

# What a page shows around the statement: none of it is the release's text.
FURNITURE = [
    "Share this page",
    "Travel Page",
    "Facebook",
    "Other Press Statements",
    "Search this site",
    "Privacy Statement",
    "Rate this website",
    "Consular Services",
    "All rights reserved",
    "Contact Us",
    "Highlights",
]

COUNCIL_TITLE = "ASEAN Coordinating Council prepares for the 34th Summit"
COUNCIL_TEXT = (
    "JAKARTA, 5 March 2019 – The ASEAN Coordinating Council met today to prepare for the 34th "
    "ASEAN Summit, to be held in Bangkok in June.\n\n"
    "The Council reviewed the “ASEAN Community Vision 2025” and the work plans of the three "
    "pillars, and welcomed Thailand’s theme for its Chairmanship.\n\n"
    "The Meeting was chaired by the Minister of Foreign Affairs of Thailand."
)


@pytest.fixture
def ministry() -> Iterator[SimMinistry]:
    """Five statements on two listing pages: two re-posted Secretariat releases, three the
    ministry's own."""
    with SimMinistry(per_page=3) as site:
        site.repost(REAL_ORIGIN_TITLE, REAL_ORIGIN_TEXT, date(2019, 2, 21))
        site.add_statement(
            "MFA Spokesperson's Comments on the Situation in the Korean Peninsula",
            ["The Ministry welcomes the continued dialogue.", "We call on all parties to act."],
            date(2019, 2, 25),
        )
        site.add_statement(
            "Minister for Foreign Affairs' Official Visit to Japan, 3 to 5 March 2019",
            ["The Minister will make an Official Visit to Japan.", "He will call on leaders."],
            date(2019, 3, 1),
        )
        site.repost(
            COUNCIL_TITLE,
            COUNCIL_TEXT,
            date(2019, 3, 6),
            headline="upper",
            prefix="Press Release: ",
            layout="rewrap",
            wrap_width=60,
        )
        site.add_statement(
            "Visit of the Secretary-General of ASEAN",
            ["The Secretary-General of ASEAN will visit on 11 March 2019."],
            date(2019, 3, 8),
        )
        yield site


def test_every_statement_is_read_with_its_body_alone_and_its_date(
    ministry: SimMinistry, make_app: Callable[..., App]
) -> None:
    app = make_app([ministry_source(ministry)])
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert result.count(ChangeKind.NEW) == 5
    # both listing pages walked; the Highlights link and the sidebar added nothing
    assert sorted(hit.query.get("page", ["1"])[0] for hit in ministry.listing_hits()) == ["1", "2"]
    releases = {release.url: release for release in app.store.releases()}
    assert set(releases) == {ministry.link(s.slug) for s in ministry.published()}
    for statement in ministry.published():
        release = releases[ministry.link(statement.slug)]
        history = app.store.history(str(release.id))
        assert history is not None
        [version] = history.versions
        assert version.title == statement.title
        assert version.published == datetime.combine(
            ministry.local_date(statement), datetime.min.time(), tzinfo=UTC
        )
        assert version.text == "\n\n".join(statement.paragraphs)
        for furniture in FURNITURE:
            assert furniture not in version.text, (furniture, statement.slug)

    russia = app.store.history(ministry.link("asean-russia-commit-to-deepen-cooperation"))
    assert russia is not None
    text = russia.versions[0].text
    # re-posted as such sites do: dateline in the ministry's format, quotes straightened, the
    # first two paragraphs one, the source line last
    assert text.startswith("BALI, 21 Feb 2019 – Upon the elevation of the ASEAN-Russia")
    assert "Senior Officials' Meeting (ARSOM)" in text
    assert text.endswith("\n\nSource: ASEAN Secretariat")
    assert len(text.split("\n\n")) == len(REAL_ORIGIN_TEXT.split("\n\n"))  # -1 joined, +1 source
    council_slug = "press-release-asean-coordinating-council-prepares-for-the-34th-summit"
    council = app.store.history(ministry.link(council_slug))
    assert council is not None
    assert council.versions[0].title == f"Press Release: {COUNCIL_TITLE.upper()}"
    assert council.versions[0].text.startswith(
        "JAKARTA, 5 Mar 2019 – The ASEAN Coordinating Council met\ntoday to prepare"
    )


def test_a_check_with_nothing_changed_asks_conditionally_and_stores_nothing(
    ministry: SimMinistry, make_app: Callable[..., App]
) -> None:
    app = make_app([ministry_source(ministry)])
    app.check()
    before = {release.id: release.versions for release in app.store.releases()}

    ministry.clear_hits()
    [result] = app.check()
    assert result.status == CheckStatus.OK and not result.changed
    # the listing's two pages answered 304; statements of 2019 are not due for a re-read yet
    assert [(hit.conditional, hit.status) for hit in ministry.listing_hits()] == [(True, 304)] * 2
    assert ministry.article_hits() == []

    ministry.clear_hits()
    [result] = app.check(all_releases=True)  # `watcher check --all-releases`
    assert result.status == CheckStatus.OK and not result.changed
    assert len(ministry.article_hits()) == 5
    hits = ministry.listing_hits() + ministry.article_hits()
    assert {(hit.conditional, hit.status) for hit in hits} == {(True, 304)}
    assert result.not_modified == len(hits)
    assert {release.id: release.versions for release in app.store.releases()} == before

    # a new menu and footer on every page: read again, and still no edit
    ministry.set_menu(["Home", "Media Centre"])
    ministry.set_footer("Copyright 2027 Ministry of Foreign Affairs.")
    ministry.clear_hits()
    [result] = app.check(all_releases=True)
    assert {hit.status for hit in ministry.article_hits()} == {200}
    assert result.status == CheckStatus.OK and not result.changed
    assert {release.id: release.versions for release in app.store.releases()} == before


def test_an_edit_is_edited_and_a_removal_removed(
    ministry: SimMinistry, make_app: Callable[..., App]
) -> None:
    clock = ShiftedClock()
    app = make_app([ministry_source(ministry)], clock=clock)
    app.check()
    visit = "minister-for-foreign-affairs-official-visit-to-japan-3-to-5-march-2019"
    edited = ["The Minister will make an Official Visit to Japan.", "He will call on the Emperor."]
    ministry.edit(visit, paragraphs=edited)

    clock.advance(timedelta(days=1))  # known releases are read again once a day (revisit.every)
    [result] = app.check()
    assert result.count(ChangeKind.EDITED) == 1 and result.count(ChangeKind.NEW) == 0
    history = app.store.history(ministry.link(visit))
    assert history is not None
    assert [v.text.split("\n\n")[1] for v in history.versions] == [
        "He will call on leaders.",
        "He will call on the Emperor.",
    ]

    gone = "mfa-spokespersons-comments-on-the-situation-in-the-korean-peninsula"
    ministry.remove(gone)
    assert httpx.get(ministry.link(gone)).status_code == 404
    [result] = app.check()
    assert not result.changed  # one 404 may be a glitch
    [result] = app.check()
    assert result.count(ChangeKind.REMOVED) == 1
    removed = [r.url for r in app.store.releases() if r.status == ReleaseStatus.REMOVED]
    assert removed == [ministry.link(gone)]
    assert [hit.status for hit in ministry.article_hits() if hit.path == ministry.path(gone)][
        -2:
    ] == [404, 404]


def test_the_reposted_release_as_users_see_it(
    ministry: SimMinistry, make_app: Callable[..., App], golden: Callable[[str, str], None]
) -> None:
    app = make_app([ministry_source(ministry)])
    app.check()
    slug = "asean-russia-commit-to-deepen-cooperation"
    history = app.store.history(ministry.link(slug))
    assert history is not None
    [version] = history.versions
    seen = {
        "path": ministry.path(slug),
        "title": version.title,
        "published": version.published.isoformat() if version.published else None,
        "text": version.text,
    }
    golden(
        "extract/ministry-repost-asean-russia.json",
        json.dumps(seen, indent=2, ensure_ascii=False) + "\n",
    )


@pytest.mark.slow
def test_watcher_check_reads_the_ministry(ministry: SimMinistry, tmp_path: Path) -> None:
    config = write_config(tmp_path, [ministry_source(ministry)])
    checked = run_watcher("check", config=config)
    assert checked.returncode == 0, checked.stderr
    assert "check mfa: ok, 5 new, 0 edited, 0 removed" in checked.stderr
    listed = run_watcher("releases", "--json", "--source", "mfa", config=config)
    assert listed.returncode == 0, listed.stderr
    titles = {release["title"] for release in json.loads(listed.stdout)}
    assert titles == {s.title for s in ministry.published()}


def test_the_site_pages_answers_and_forgets_as_a_ministry_site_does(ministry: SimMinistry) -> None:
    first = httpx.get(ministry.listing_url)
    assert first.status_code == 200
    assert first.text.count('class="statement-item"') == 3
    assert '<a class="next" href="?page=2">Next</a>' in first.text
    last = httpx.get(ministry.listing_url, params={"page": 2})
    assert last.text.count('class="statement-item"') == 2 and 'class="next"' not in last.text
    assert "21 Feb 2019" in last.text
    beyond = httpx.get(ministry.listing_url, params={"page": 9})
    assert beyond.status_code == 200 and "No press statements found." in beyond.text

    slug = "visit-of-the-secretary-general-of-asean"
    page = httpx.get(ministry.link(slug))
    head = httpx.head(ministry.link(slug))
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["ETag"] == page.headers["ETag"]
    by_date = httpx.get(
        ministry.link(slug), headers={"If-Modified-Since": page.headers["Last-Modified"]}
    )
    assert by_date.status_code == 304
    ministry.edit(slug, paragraphs=["The visit is postponed."])
    by_tag = httpx.get(ministry.link(slug), headers={"If-None-Match": page.headers["ETag"]})
    assert by_tag.status_code == 200 and "The visit is postponed." in by_tag.text
    by_date = httpx.get(
        ministry.link(slug), headers={"If-Modified-Since": page.headers["Last-Modified"]}
    )
    assert by_date.status_code == 200

    ministry.remove(slug)
    assert httpx.get(ministry.link(slug)).status_code == 404
    assert slug not in httpx.get(ministry.listing_url).text


def test_a_repost_changes_what_such_sites_change() -> None:
    title, paragraphs = repost_copy(
        "ASEAN’s partners meet in Bali",
        ["BALI, 5 February 2019 – The “partners” met.", "Second.", "Third."],
        date_style="numeric",
        headline="sentence",
        prefix="Press Release: ",
        source_line="Source: ASEAN Secretariat News",
    )
    assert title == "Press Release: Asean's partners meet in bali"
    assert paragraphs == [
        'BALI, 05/02/2019 – The "partners" met. Second.',
        "Third.",
        "Source: ASEAN Secretariat News",
    ]
    kept = repost_copy("Title", "One.\n\nTwo.", layout="keep", straighten=False, source_line=None)
    assert kept == ("Title", ["One.", "Two."])


def test_numeric_dates_are_read_day_first_when_the_source_says_so(
    make_app: Callable[..., App],
) -> None:
    with SimMinistry(date_style="numeric") as site:
        site.add_statement("Statement", ["Text."], date(2019, 2, 5))
        day_first = ministry_source(site)
        day_first["selectors"]["day_first"] = True
        app = make_app([day_first])
        app.check()
        [release] = app.store.releases()
        assert release.published == datetime(2019, 2, 5, tzinfo=UTC)
    with SimMinistry(date_style="numeric") as site:  # unset: month first, as before
        site.add_statement("Statement", ["Text."], date(2019, 2, 5))
        app = make_app([ministry_source(site, name="other")])
        app.check()
        [release] = app.store.releases(source="other")
        assert release.published == datetime(2019, 5, 2, tzinfo=UTC)
