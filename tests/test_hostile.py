"""Hostile pages: scripts, handlers, javascript: and data: links, iframes, forms, tracking
images, control characters and CDATA ends never reach a feed, an email or a page active; odd
charsets are read, not crashed on; secrets never show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from tests.helpers import (
    RUSSIA,
    email_settings,
    posts_answer,
    run_watcher,
    wordpress_source,
    write_config,
)
from tests.mailserver import MailServer, part
from tests.sim.model import Request, Response
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.charsets import decode
from watcher.models import ChangeKind, CheckStatus

# The store's behaviour, on SQLite and on PostgreSQL.
pytestmark = pytest.mark.databases

HOSTILE = (
    'Russia and ASEAN <script>alert("x")</script> meet.\n\n'
    '<img src="https://tracker.example/pixel.gif" onerror="alert(1)"> '
    '<a href="javascript:alert(2)">click</a> <a href="data:text/html,<script>x</script>">data</a> '
    '<iframe src="https://evil.example/"></iframe><form action="https://evil.example/"><input name=q></form>'
    '<p onclick="steal()">Control \x01\x02\x0b characters and ]]> ends.</p>'
)
ACTIVE = (
    "<script",
    "onerror",
    "onclick",
    "javascript:",
    "data:text",
    "<iframe",
    "<form",
    "tracker.example",
    "\x01",
    "\x0b",
)


def test_a_hostile_page_gives_a_valid_feed_and_email_with_nothing_active(
    site: SimWordPress, make_app: Callable[..., App], tmp_path: Path
) -> None:
    with MailServer() as smtp:
        app = make_app(
            [wordpress_source(site)],
            topics=RUSSIA,
            email=email_settings(smtp.port),
            subscriptions=[
                {"name": "i", "to": ["a@example.org"], "topics": ["russia"], "mode": "instant"}
            ],
        )
        app.prepare()
        app.check()
        site.add_post("Russia <b onmouseover=alert(3)>statement</b>\x07", HOSTILE)
        app.check()
        [received] = smtp.received
    for name in ("all.atom", "all.rss", "topics/russia.atom"):
        data = (tmp_path / "state" / "feeds" / name).read_bytes()
        etree.fromstring(data)  # well-formed XML
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0
        content = (
            parsed.entries[0].content[0].value
            if parsed.entries[0].get("content")
            else parsed.entries[0].summary
        )
        for marker in ACTIVE:
            assert marker not in content, (name, marker)
        assert "Control" in content  # the text itself is kept
    html = part(received.message, "html")
    for marker in ACTIVE:
        assert marker not in html
    assert "onmouseover" not in str(received.message["Subject"])


def test_charsets_are_read_as_browsers_read_them() -> None:
    assert (
        decode("café".encode("utf-16-le").join([b"\xff\xfe", b""]), "utf-8") == "café"
    )  # BOM wins
    assert decode("café".encode("cp1252"), "iso-8859-1") == "café"  # Latin-1 labels mean cp1252
    assert decode(b'<meta charset="windows-1251">\xcf\xf0\xe8', None).endswith("При")
    assert decode("“quoted” café".encode("cp1252"), "utf-8") == "“quoted” café"  # cp1252 in UTF-8
    assert "\ufffd" in decode(b"ok \xff\xfe\xfd \x81 end", "shift_jis")  # undecodable: replaced
    assert decode(b"plain", "rot13") == "plain"  # not a charset: read as UTF-8
    assert decode(b"Before +2AA- after", "utf-7") == "Before +2AA- after"  # no browser's charset
    assert decode("a \ud800 b".encode("utf-16-le", "surrogatepass"), "utf-16-le") == "a \ufffd b"


@pytest.mark.slow
def test_secrets_stay_out_of_output(tmp_path: Path) -> None:
    config = write_config(tmp_path, [], database_env="WATCHER_TEST_DB")
    env = {"WATCHER_TEST_DB": "postgresql://watcher:s3cret-pass@127.0.0.1:1/w"}
    result = run_watcher("config", "check", config=config, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "s3cret-pass" not in result.stdout + result.stderr
    assert "postgresql://watcher:***@127.0.0.1:1/w" in result.stdout
    failing = run_watcher("status", config=config, env=env, timeout=60)
    assert failing.returncode == 1  # nothing listens there
    assert "s3cret-pass" not in failing.stdout + failing.stderr


def test_a_release_link_that_is_not_http_never_becomes_a_link() -> None:
    from datetime import UTC, datetime

    from watcher import extract, feeds, mail
    from watcher.errors import ExtractError
    from watcher.models import ChangeEntry, ChangeKind, Origin

    with pytest.raises(ExtractError, match="not an http"):
        extract.snapshot(
            url="javascript:alert(1)", title="t", published=None, text="", html="",
            attachments=(), origin=Origin.FEED,
        )  # fmt: skip
    stored = ChangeEntry(
        uid="u", kind=ChangeKind.NEW, source="s", release_id=1, url="javascript:alert(1)",
        title="t", detected_at=datetime(2026, 1, 1, tzinfo=UTC),
        feed_date=datetime(2026, 1, 1, tzinfo=UTC), published=None, diff="", html="",
        baseline=False, topics=("t",),
    )  # fmt: skip
    documents = feeds.render(
        [stored], title="t", base_url="http://x", name="all", now=stored.feed_date
    )
    for document in (documents.atom, documents.rss):
        parsed = feedparser.parse(document)
        assert parsed.entries[0].link != "javascript:alert(1)"
        entry = parsed.entries[0]
        body = entry.content[0].value if "content" in entry else entry.get("summary", "")
        assert body  # the entry has its text...
        assert 'href="javascript:' not in body  # ...and no link to follow there
    message = mail.compose_instant(
        mail.Envelope("w <w@example.org>", ("a@example.org",), "UTC"),
        topic_titles={"t": "T"}, entry=stored, now=stored.feed_date, message_id="<m@x>",
    )  # fmt: skip
    assert 'href="javascript:' not in part(message, "html")


def test_half_characters_neither_cut_the_text_nor_stop_the_source(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    """Half a character is valid JSON ("\\ud800"), goes out of PHP as the three bytes it is, and
    looks like a character reference ("&#xD800;", "&#x110000;"): the HTML parser would cut the
    text there, the feed parser would crash, or read the whole feed as Windows-1252 and report
    every other non-ASCII release edited."""
    with SimWordPress(api="on") as site:
        app = make_app(
            [
                wordpress_source(site),
                {"name": "feed", "type": "feed", "url": f"{site.url}/feed/", "follow": False},
            ]
        )
        site.add_post("ASEAN – Russia: a café in Hà Nội", "Việt Nam – “quoted” – café.")
        app.check()
        site.add_post(
            "Half \ud800 a character &#xD800; in the title",
            "Before \udfff the break, &#55296; &#x110000; &#99999999999; and after it.",
            slug="half-a-character",
        )
        results = app.check()
    assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.OK], results
    assert [r.counts for r in results] == [{ChangeKind.NEW: 1}, {ChangeKind.NEW: 1}]
    texts = []
    for release in app.store.releases():
        history = app.store.history(str(release.id))
        assert history is not None
        texts.append((release.source, release.title, history.versions[-1].text))
    half = [t for t in texts if t[1].startswith("Half")]
    assert len(half) == 2
    for source, title, text in half:
        assert title.endswith("in the title"), (source, title)
        assert text.endswith("and after it."), (source, text)
        assert "\ufffd" in text
    for source, title, text in texts:
        assert "Ã" not in title + text, (source, title, text)  # never read as Windows-1252
    for name in ("all.atom", "all.rss"):
        etree.fromstring((tmp_path / "state" / "feeds" / name).read_bytes())


def test_a_url_too_long_to_keep_is_one_failed_item_and_the_others_are_kept(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    # SQLite would keep any length; PostgreSQL refuses past the column's: the same on both.
    site.add_post("Kept", "Read and kept.")
    long_one = site.add_post("Too long", "Its link is longer than any browser sends.")

    def lengthen(request: Request, posts: Any) -> Any:
        for post in posts if isinstance(posts, list) else []:
            if post.get("id") == long_one and "link" in post:
                post["link"] += "?q=" + "é" * 1100  # 2,200 bytes once percent-encoded: 6,600
        return posts

    site.tamper = posts_answer(lengthen)
    app = make_app([wordpress_source(site)])
    [result] = app.check()
    assert result.status == CheckStatus.OK
    assert result.failed_items == 1
    assert "bytes long, over the 2048 a release may have" in " ".join(result.notes)
    assert [r.title for r in app.store.releases()] == ["Kept"]
    site.tamper = None
    [result] = app.check()
    assert (result.status, result.count(ChangeKind.NEW)) == (CheckStatus.OK, 1)


def test_validators_too_long_to_keep_are_not_kept(make_app: Callable[..., App]) -> None:
    with SimWordPress(etags=True) as site:
        site.add_post("One", "Text of one.")

        def long_validators(request: Request, response: Response) -> Response:
            status, headers, body = response
            if "ETag" in headers:
                headers = {**headers, "ETag": f'"{"e" * 600}"', "Last-Modified": "x" * 100}
            return status, headers, body

        site.tamper = long_validators
        source = {"name": "news", "type": "html", "profile": "asean"}
        app = make_app([{**source, "url": f"{site.url}/category/news/"}])
        [first] = app.check()
        site.clear_hits()
        [second] = app.check()
        assert (first.status, second.status) == (CheckStatus.OK, CheckStatus.OK)
        [listing] = site.requests_to("/category/news/")
        assert "If-None-Match" not in listing.headers
        assert "If-Modified-Since" not in listing.headers
        assert [r.title for r in app.store.releases()] == ["One"]
