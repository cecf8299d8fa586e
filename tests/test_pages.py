"""The web pages over a small history: latest changes, releases filtered, a release with the
diff of two versions, topics, sources; each links its feed and is plain, accessible HTML."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.helpers import wordpress_source
from tests.pdfs import text_pdf
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.web.app import Site
from watcher.web.server import WebServer

ANNEX = "/wp-content/uploads/2026/11/Annex.pdf"
TOPICS = {"vietnam": {"title": "Viet Nam", "any": ["Viet Nam"]}}


@pytest.fixture
def pages(site: SimWordPress, make_app: Callable[..., App]) -> Iterator[tuple[str, App]]:
    kept = site.add_post("Leaders meet in Hanoi", "Viet Nam hosts 10 delegations today.")
    site.add_post("Trade ministers convene", "The meeting opened in Jakarta.")
    app = make_app([wordpress_source(site)], topics=TOPICS)
    app.prepare()
    app.check()
    site.edit_post(kept, content="Viet Nam hosts 12 delegations today.")
    app.check()
    app.build_feeds()
    config = app.config
    web = WebServer(
        "127.0.0.1:0",
        Site(
            config.feeds_dir,
            lambda: (True, ""),
            topics=config.topics,
            reader=app.store,
            sources=config.sources,
        ),
    )
    web.start()
    try:
        yield f"http://127.0.0.1:{web.port}", app
    finally:
        web.stop()


def _get(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=15)
    assert response.status_code == 200, (url, response.text)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in response.headers["content-security-policy"]  # no script at all
    page = response.text
    assert '<html lang="en">' in page
    assert '<a class="skip" href="#main">' in page and '<main id="main">' in page
    assert 'name="viewport"' in page
    assert '<link rel="alternate" type="application/atom+xml"' in page
    return response


def test_the_front_page_lists_the_latest_changes_newest_first(
    pages: tuple[str, App],
) -> None:
    base, _ = pages
    page = _get(f"{base}/").text
    kinds = re.findall(r'class="change kind-(\w+)"', page)
    assert kinds == ["edited", "new", "new"]  # newest first: the edit after the first check
    assert "Leaders meet in Hanoi" in page and "asean" in page
    assert '<a class="topic" href="/topics/vietnam">vietnam</a>' in page


def test_releases_are_filtered_and_paged(pages: tuple[str, App]) -> None:
    base, _ = pages
    everything = _get(f"{base}/releases").text
    assert everything.count('class="release status-active"') == 2
    assert 'id="filters"' in everything and '<label for="topic">' in everything
    in_topic = _get(f"{base}/releases?topic=vietnam").text
    assert in_topic.count('class="release ') == 1 and "Leaders meet in Hanoi" in in_topic
    edited = _get(f"{base}/releases?kind=edited&source=asean").text
    assert edited.count('class="release ') == 1
    assert _get(f"{base}/releases?since=2999-01-01").text.count('class="release ') == 0
    assert httpx.get(f"{base}/releases?since=yesterday").status_code == 400
    assert httpx.get(f"{base}/releases?page=0").status_code == 400


def test_a_release_shows_its_timeline_and_the_diff_of_two_versions(
    pages: tuple[str, App],
) -> None:
    base, app = pages
    [release] = [r for r in app.store.releases() if r.title == "Leaders meet in Hanoi"]
    page = _get(f"{base}/releases/{release.id}").text
    assert "Viet Nam hosts 12 delegations today." in page  # the current text
    assert f'href="{release.url}"' in page
    assert "vietnam</a>: Viet Nam" in page  # the topic, and the term that matched
    assert 'href="?from=1&amp;to=2#diff"' in page
    diff = _get(f"{base}/releases/{release.id}?from=1&to=2").text
    assert len(re.findall(r"<del[^>]*>10</del>", diff)) == 2  # inline, and the old side
    assert len(re.findall(r"<ins[^>]*>12</ins>", diff)) == 2  # inline, and the new side
    # the summary line the feed entry and the mail of this edit open with
    assert "1 paragraph edited; 1 figure changed: 10 → 12" in diff
    assert httpx.get(f"{base}/releases/{release.id}?from=1&to=9").status_code == 400
    assert httpx.get(f"{base}/releases/99999").status_code == 404


def test_topics_and_sources(pages: tuple[str, App]) -> None:
    base, _ = pages
    topics = _get(f"{base}/topics").text
    assert 'href="/topics/vietnam">Viet Nam</a>' in topics and "(1 releases)" in topics
    topic = _get(f"{base}/topics/vietnam").text
    assert 'href="/feeds/topics/vietnam.atom"' in topic and "<dd>Viet Nam</dd>" in topic
    assert httpx.get(f"{base}/topics/nothing").status_code == 404
    sources = _get(f"{base}/sources").text
    [row] = re.findall(r'<tr class="source">(.*?)</tr>', sources, re.S)
    assert "asean" in row and ": ok</td>" in row
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert cells[2].endswith("UTC")  # next check: the last one plus `every`
    assert cells[3] == "0"


class _Clock:
    """A fixed time, moved by the test: the pages show when changes were found."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("latest.html", "/"),
        ("release-diff.html", "/releases/1?from=1&to=2"),
        ("search.html", "/releases?q=Manila"),
    ],
)
def test_golden_pages(
    name: str,
    path: str,
    site: SimWordPress,
    make_app: Callable[..., App],
    golden: Callable[[str, str], None],
) -> None:
    clock = _Clock(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    site.upload(ANNEX, text_pdf(["Annex to the Joint Statement", "They meet next in Hanoi."]))
    post = site.add_post(
        "ASEAN-Russia Joint Statement",
        f'Viet Nam and Russia pledged USD 5 million.\n\nDocuments: <a href="{ANNEX}">Annex</a>',
        date_gmt=datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
        slug="asean-russia-joint-statement",
    )
    app = make_app([wordpress_source(site)], topics=TOPICS, clock=clock)
    app.prepare()
    app.check()
    clock.now += timedelta(minutes=15)
    with site.lock:
        site.edit_post(post, content=site.posts[post].content.replace("USD 5", "USD 3"))
        site.upload(ANNEX, text_pdf(["Annex to the Joint Statement", "They meet next in Manila."]))
    app.check()
    web = Site(app.config.feeds_dir, lambda: (True, ""), topics=app.config.topics, reader=app.store)
    server = WebServer("127.0.0.1:0", web)
    server.start()
    try:
        response = _get(f"http://127.0.0.1:{server.port}{path}")
    finally:
        server.stop()
    golden(f"pages/{name}", response.text.replace(site.url, "https://asean.test"))
