"""Extraction: the article region only, normalised; golden files for what users read."""

from __future__ import annotations

import csv
import json
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from tests.helpers import FIXTURES
from watcher import extract
from watcher.errors import ExtractError
from watcher.models import Attachment, Page, Validators
from watcher.profiles import ASEAN, WORDPRESS
from watcher.sources.feed import parse_feed
from watcher.text import _FOLD, _INVISIBLE, content_hash, fold
from watcher.urls import canonical_url

ASEAN_FIXTURES = FIXTURES / "asean"


def page(
    body: bytes | str, url: str = "https://asean.org/x/", content_type: str = "text/html"
) -> Page:
    data = body.encode() if isinstance(body, str) else body
    return Page(url, url, 200, content_type, None, data, Validators())


def as_json(value: object) -> str:
    def default(item: object) -> str:
        assert isinstance(item, datetime)
        return item.isoformat()

    return json.dumps(value, indent=2, ensure_ascii=False, default=default) + "\n"


def test_synthetic_asean_article(golden: Callable[[str, str], None]) -> None:
    body = (ASEAN_FIXTURES / "synthetic-article-elementor.html").read_bytes()
    article = extract.article(
        page(body, "https://asean.org/asean-senior-officials-meeting-convenes-in-manila/"), ASEAN
    )
    assert article.title == "ASEAN Senior Officials’ Meeting convenes in Manila"
    assert article.published == datetime(2026, 6, 8, tzinfo=UTC)  # from the day-archive link
    assert "ABOUT ASEAN" not in article.text  # the site-wide footer is not the article
    assert article.attachments == (
        Attachment(
            "https://asean.org/wp-content/uploads/2026/06/EXAMPLE-Statement.pdf",
            "Download the full Statement here",
        ),
    )
    golden("extract/synthetic-article-elementor.json", as_json(asdict(article)))


def test_synthetic_asean_listing() -> None:
    body = (ASEAN_FIXTURES / "synthetic-listing-elementor.html").read_bytes()
    listing = extract.listing(page(body, "https://asean.org/category/news/"), ASEAN)
    assert len(listing.items) == 4
    assert listing.items[0].startswith("https://asean.org/secretary-general-of-asean-meets")
    assert listing.next_url == "https://asean.org/category/news/page/2/"


def test_reconstructed_feed_matches_the_real_capture() -> None:
    body = (ASEAN_FIXTURES / "reconstructed-category-news-feed.xml").read_bytes()
    items = parse_feed(page(body, "https://asean.org/category/news/feed/", "application/rss+xml"))
    with (ASEAN_FIXTURES / "feed-items-2026-06.csv").open(encoding="utf-8") as file:
        captured = list(csv.DictReader(file))
    assert [i.title for i in items] == [row["title"] for row in captured]
    assert [i.link for i in items] == [row["url"] for row in captured]
    assert [i.published.isoformat() if i.published else None for i in items] == [
        row["published_iso"] for row in captured
    ]
    assert items[0].wp_id == 900001  # from the guid ?p=
    assert items[0].content_html is None  # this capture has no content:encoded


def test_fragment_drops_the_yoast_feed_footer_and_reads_like_the_page() -> None:
    content = "<p>JAKARTA, 27 May 2021 &#8211; ASEAN&#8217;s &#8220;Plan&#8221;.</p>\n"
    footer = '<p>The post <a href="https://asean.org/x/">X</a> appeared first on <a href="https://asean.org">ASEAN Main Portal</a>.</p>\n'
    from_feed = extract.fragment(content + footer, "https://asean.org/x/")
    on_page = extract.article(
        page(
            f"<html><body><h1 class='entry-title'>X</h1><div class='entry-content'>{content}</div><footer>f</footer></body></html>"
        ),
        WORDPRESS,
    )
    assert from_feed[0] == on_page.text == "JAKARTA, 27 May 2021 – ASEAN’s “Plan”."


def test_block_structure_and_line_breaks() -> None:
    html = "<div><p>First\n   paragraph</p>text after<ul><li>one</li><li>two</li></ul><p>a<br/>b</p></div>"
    text, _, _ = extract.fragment(html, "https://e.org/")
    assert text == "First paragraph\n\ntext after\n\none\n\ntwo\n\na\nb"


def test_sanitised_html_keeps_no_active_content() -> None:
    html = (
        '<p onclick="x()">Hi <a href="javascript:alert(1)">bad</a> <a href="/ok.pdf">ok</a>'
        '<script>alert(1)</script><img src="https://tracker.example/p.gif"><iframe src="//e"></iframe></p>'
    )
    _, clean, attachments = extract.fragment(html, "https://asean.org/x/")
    assert "script" not in clean and "onclick" not in clean and "javascript" not in clean
    assert "<img" not in clean and "iframe" not in clean
    assert 'href="https://asean.org/ok.pdf"' in clean
    assert attachments == (Attachment("https://asean.org/ok.pdf", "ok"),)


def test_missing_region_is_an_extract_error() -> None:
    with pytest.raises(ExtractError, match="no article region"):
        extract.article(page("<html><body><p>menu only</p></body></html>"), ASEAN)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8 June 2026", datetime(2026, 6, 8, tzinfo=UTC)),
        ("May 7th, 2021", datetime(2021, 5, 7, tzinfo=UTC)),
        ("Wed, 10 Jun 2026 01:13:55 +0000", datetime(2026, 6, 10, 1, 13, 55, tzinfo=UTC)),
        ("2026-06-09T08:00:00+07:00", datetime(2026, 6, 9, 1, 0, tzinfo=UTC)),
        ("", None),
        ("no date here", None),
    ],
)
def test_dates(value: str, expected: datetime | None) -> None:
    assert extract.parse_date(value) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://asean.org/asean-russia/",
        "http://asean.org/asean-russia",
        "https://www.asean.org/asean-russia/",
        "HTTPS://WWW.ASEAN.ORG:443/asean-russia/?utm_source=x",
    ],
)
def test_one_release_whatever_the_url_spelling(url: str) -> None:
    assert canonical_url(url) == "asean.org/asean-russia"


def test_typography_whitespace_and_entities_do_not_change_the_hash() -> None:
    a = content_hash("ASEAN’s “Plan” – 2026…", "It’s   here.\n\nNext", ())
    b = content_hash('ASEAN\'s "Plan" - 2026...', "It's here.\n\nNext", ())
    c = content_hash('ASEAN\'s "Plan" - 2027...', "It's here.\n\nNext", ())
    assert a == b != c
    assert fold("ASEAN – Russia") == fold("ASEAN-Russia") == "ASEAN-Russia"


def _fold_as_first_defined(text: str) -> str:
    """fold() as the first stored hashes were made: any other result would turn every stored
    release into an edit at its next reading."""
    folded = "".join(_FOLD.get(c, c) for c in unicodedata.normalize("NFKC", text))
    folded = _INVISIBLE.sub("", folded)
    folded = re.sub(r"\s*-+\s*", "-", folded)
    return re.sub(r"\s+", " ", folded).strip()


def test_folding_gives_what_stored_hashes_were_made_with() -> None:
    pieces = [" ", "\n", "\t", "\u00a0", "\u2003", "\u3000", "\x85", "\x1c", "-", "--", "–", "a"]
    pieces += ["\u200b", "b ", " - ", "’", "…"]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert fold(text) == _fold_as_first_defined(text), repr(text)
