"""Deep markup and odd <meta> charsets: what follows 300 unclosed tags of pasted Word HTML, or
a 10 MB paragraph, is read (an edit there is seen); markup past libxml2's hard limits fails its
page with a reason instead of storing a text cut short; an ASCII page that names UTF-16, UTF-32
or EBCDIC in a <meta> reads as browsers read it."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import wordpress_source
from tests.sim.wordpress import SimWordPress
from watcher import charsets, extract
from watcher.app import App
from watcher.errors import ExtractError
from watcher.models import ChangeKind, CheckStatus, Page, Validators
from watcher.profiles import WORDPRESS

URL = "https://asean.org/asean-russia-plan/"
AFTER = "After the deep markup: the ministers adopted the plan."
# what pasted Word HTML looks like to the parser: 300 levels (libxml2 stops at 256 by default)
DEEP = {
    "unclosed spans": '<span style="mso-bidi-font-size:11.0pt">' * 300,
    "unclosed b": "<b>" * 300,
    "unclosed font": '<font face="Calibri">' * 300,
    "nested lists": "<ul><li>" * 300 + "deepest item" + "</li></ul>" * 300,
    "nested tables": "<table><tr><td>" * 300 + "deepest cell" + "</td></tr></table>" * 300,
}
PAST_THE_LIMIT = "<span>" * 3000  # libxml2's own limit, even with huge_tree, is 2048


def page(content: str, title: str = "ASEAN and Russia adopt a plan") -> Page:
    body = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f'<body><nav><a href="/">Home</a></nav><article><h1 class="entry-title">{title}</h1>'
        f'<div class="entry-content"><p>Opening paragraph.</p>{content}</div></article>'
        "<footer>ABOUT ASEAN</footer></body></html>"
    )
    return Page(URL, URL, 200, "text/html", None, body.encode(), Validators())


def html_source(site: SimWordPress) -> dict[str, Any]:
    return {
        "name": "pages",
        "type": "html",
        "profile": "asean",
        "url": f"{site.url}/category/news/",
    }


@pytest.mark.parametrize("markup", DEEP.values(), ids=DEEP.keys())
def test_text_after_deep_markup_is_read_on_a_page(markup: str) -> None:
    article = extract.article(page(f"{markup}<p>{AFTER}</p>"), WORDPRESS)
    assert article.text.startswith("Opening paragraph.")
    assert article.text.endswith(AFTER)
    assert "ABOUT ASEAN" not in article.text  # the region ended where the page says it ends
    assert AFTER in article.html


@pytest.mark.parametrize("markup", DEEP.values(), ids=DEEP.keys())
def test_text_after_deep_markup_is_read_in_rest_and_feed_content(markup: str) -> None:
    text, html, _ = extract.fragment(f"<p>Opening paragraph.</p>{markup}<p>{AFTER}</p>", URL)
    assert text.startswith("Opening paragraph.")
    assert text.endswith(AFTER)
    assert AFTER in html


def test_a_title_inside_deep_markup_is_read() -> None:
    assert extract.html_text("<span>" * 300 + "ASEAN–Russia summit") == "ASEAN–Russia summit"


def test_markup_nested_nearly_to_the_limit_is_read_and_kept() -> None:
    """1990 levels: past Python's recursion limit, so every walk of the tree must be flat."""
    content = "<blockquote>" * 1990 + "<p>Deepest words.</p>" + "</blockquote>" * 1990
    article = extract.article(page(f"{content}<p>{AFTER}</p>"), WORDPRESS)
    assert article.text == f"Opening paragraph.\n\nDeepest words.\n\n{AFTER}"
    assert article.html.count("<blockquote>") == 1990  # the sanitiser kept the structure
    assert article.html.endswith(f"<p>{AFTER}</p>")


def test_a_text_node_over_10_mb_is_kept_whole() -> None:
    long_paragraph = ("x" * 49 + " ") * 210_000  # 10.5 MB, libxml2's default cap is 10 MB
    expected = f"Opening paragraph.\n\n{long_paragraph.strip()}\n\n{AFTER}"
    content = f"<p>{long_paragraph}</p><p>{AFTER}</p>"
    assert extract.article(page(content), WORDPRESS).text == expected
    text, _, _ = extract.fragment(f"<p>Opening paragraph.</p>{content}", URL)
    assert text == expected


def test_markup_nested_past_the_limit_is_an_error_not_a_cut_text() -> None:
    content = f"{PAST_THE_LIMIT}<p>{AFTER}</p>"
    reason = "markup nested deeper than 2048 levels"
    with pytest.raises(ExtractError, match=f"^{reason}: {URL}$"):
        extract.article(page(content), WORDPRESS)
    with pytest.raises(ExtractError, match=f"^{reason}: {URL}$"):
        extract.fragment(content, URL)
    with pytest.raises(ExtractError, match=f"^{reason}: a title$"):
        extract.html_text(PAST_THE_LIMIT + "A title")


def test_a_page_nested_past_the_limit_is_a_failed_page_not_a_cut_release(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("A readable release", "Readable text.")
    deep = site.add_post("Pasted from Word", f"Before.\n\n{PAST_THE_LIMIT}After.")
    app = make_app([html_source(site)])
    [result] = app.check()
    assert result.status == CheckStatus.FAILED
    assert result.failed_pages == 1
    assert result.counts == {ChangeKind.NEW: 1}
    assert f"markup nested deeper than 2048 levels: {site.link(deep)}" in (result.error or "")
    assert [release.title for release in app.store.releases()] == ["A readable release"]


def test_rest_content_nested_past_the_limit_is_never_stored_cut(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("A readable release", "Readable text.")
    deep = site.add_post("Pasted from Word", f"Before.\n\n{PAST_THE_LIMIT}After.")
    app = make_app([wordpress_source(site)])
    [result] = app.check()
    reported = " ".join((result.error or "", *result.notes))
    assert f"markup nested deeper than 2048 levels: {site.link(deep)}" in reported
    assert "Pasted from Word" not in [release.title for release in app.store.releases()]


def test_an_edit_after_deep_markup_is_detected_through_the_rest_api(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    content = "Opening paragraph.\n\n" + DEEP["unclosed spans"] + AFTER
    post = site.add_post("ASEAN and Russia adopt a plan", content)
    app = make_app([wordpress_source(site)])
    [result] = app.check()
    assert result.status == CheckStatus.OK
    assert result.counts == {ChangeKind.NEW: 1}

    site.edit_post(post, content=content.replace("adopted", "rejected"))
    [result] = app.check()
    assert result.status == CheckStatus.OK
    assert result.counts == {ChangeKind.EDITED: 1}
    [release] = app.store.releases()
    history = app.store.history(str(release.id))
    assert history is not None
    assert [version.text for version in history.versions] == [
        f"Opening paragraph.\n\n{AFTER}",
        f"Opening paragraph.\n\n{AFTER.replace('adopted', 'rejected')}",
    ]


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="utf-16">',
        '<meta charset="UTF-16LE">',
        "<meta charset=utf-16be>",
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-16">',
        '<meta charset="utf-32">',
        '<meta charset="cp037">',
    ],
)
def test_a_meta_charset_no_ascii_page_can_be_in_is_read_as_browsers_do(meta: str) -> None:
    """WHATWG's prescan: a <meta> found in ASCII bytes that names UTF-16 means UTF-8, and one
    naming a charset in which ASCII is not ASCII is ignored."""
    body = (
        f"<!DOCTYPE html><html><head>{meta}<title>ASEAN meets in Hà Nội</title></head><body>"
        '<article><div class="entry-content"><p>Ministers met in Hà Nội.</p></div></article>'
        "</body></html>"
    ).encode()
    url = "https://asean.org/ha-noi/"
    article = extract.article(Page(url, url, 200, "text/html", None, body, Validators()), WORDPRESS)
    assert article.title == "ASEAN meets in Hà Nội"
    assert article.text == "Ministers met in Hà Nội."
    # what does name the page's charset still wins over the <meta>
    assert charsets.decode(body.replace(b"<!DOCTYPE", b"\xef\xbb\xbf<!DOCTYPE"), None) == (
        body.decode()
    )
    utf16 = body.decode().encode("utf-16-le")
    assert charsets.decode(codecs.BOM_UTF16_LE + utf16, None) == body.decode()  # a BOM
    assert charsets.decode(utf16, "utf-16-le") == body.decode()  # the Content-Type header
