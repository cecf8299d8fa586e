"""Pages and HTML fragments -> the article's title, date, text, sanitised HTML and attachments.

The only module that parses HTML. It uses lxml's HTML parser and CSS selectors compiled to XPath
once: a 7 KB page is parsed in a tenth of a millisecond, where building a BeautifulSoup tree
of the same page costs thirty times more. The article region is found by the source's selectors;
menus, sidebars and footers never reach the text, so a site-wide widget change is never an edit.
Pages, REST API `content.rendered` and feed `content:encoded` all go through `region_content`,
so one post reads the same whichever path supplied it.

libxml2 stops at a resource limit without raising (256 levels of nesting, as pasted Word HTML
has, or 10 MB in one text node) and keeps the tree it had, so an edit after it would never be seen.
Every parse here uses `huge_tree` (2048 levels, 1 GB), trees are walked without recursion, and
markup past even those limits is an ExtractError, never a text cut short.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from html import escape as html_escape

import lxml.html
import nh3
from cssselect import HTMLTranslator
from cssselect import parse as css_parse
from dateutil import parser as dateparser
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from watcher.charsets import decode
from watcher.errors import ExtractError
from watcher.models import Attachment, Origin, Page, ReleaseSnapshot
from watcher.profiles import Selectors
from watcher.text import (
    LINE_BREAK,
    PARAGRAPH_BREAK,
    clean_line,
    content_hash,
    join_marked,
)
from watcher.urls import absolute, is_web_url, release_key

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
_INVISIBLE = frozenset({"script", "style", "noscript", "template", "head", "title"})
_DOCUMENT = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|odt|ods|zip|rtf|csv)$", re.IGNORECASE)
_UPLOADS = re.compile(r"/(wp-content/uploads|storage)/", re.IGNORECASE)
_DAY_ARCHIVE = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/?$")
_POST_ID = re.compile(r"[?&]p=(\d+)(?:&|$)")
_POSTID_CLASS = re.compile(r"\bpostid-(\d+)\b")
# compiled once: an element's .xpath() compiles its expression again at every call
_BODY_CLASS = etree.XPath("//body/@class")
_OG_TITLE = etree.XPath("//meta[@property='og:title']/@content")
_OG_SITE_NAME = etree.XPath("//meta[@property='og:site_name']/@content")
_TITLE = etree.XPath("//title")
_SHORTLINK = etree.XPath("//link[@rel='shortlink']/@href")
# how libxml2 names its nesting limit in the error log (the message, not a code: libxml2 2.14
# says ERR_RESOURCE_LIMIT, older versions said ERR_INTERNAL_ERROR)
_EXCESSIVE_DEPTH = re.compile(r"Excessive depth in document: (\d+)")
_THREAD = threading.local()  # each thread its own parser: see _parser
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_NEEDS_A_YEAR = re.compile(r"\d{4}")
# WordPress names the kind of page in the body's classes.
_LISTING_CLASSES = frozenset({"home", "blog", "archive", "category", "tag", "search", "error404"})
# Two different defaults: a field the text does not give comes out differently from each.
_DATE_DEFAULTS = (datetime(1900, 1, 1), datetime(1904, 2, 2))  # noqa: DTZ001 (fields only)
# Yoast SEO appends this to every post in a WordPress feed, never to the page itself.
_FEED_FOOTER = re.compile(
    r"<p>\s*The post\s+<a[^>]*>.*?</a>\s+appeared first on\s+<a[^>]*>.*?</a>\.?\s*</p>\s*$",
    re.DOTALL | re.IGNORECASE,
)
_SANITISED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "li",
    "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_SANITISED_ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    published: datetime | None
    text: str
    html: str
    attachments: tuple[Attachment, ...]
    wp_id: int | None
    is_article: bool  # False for a WordPress home page, archive or search page


@dataclass(frozen=True, slots=True)
class Listing:
    items: tuple[str, ...]  # absolute article URLs, in page order, without repeats
    next_url: str | None


def parse(body: bytes | str, encoding: str | None = None, *, url: str = "") -> HtmlElement:
    """A whole document. Bytes are decoded as a browser would: BOM, then the Content-Type
    charset, then a <meta> charset, else UTF-8; what still cannot be decoded becomes U+FFFD.
    Markup that libxml2 cannot read to its end raises ExtractError."""
    text = body if isinstance(body, str) else decode(body, encoding)
    text = _XML_DECLARATION.sub("", text, count=1)
    parser = _parser()
    try:
        document = lxml.html.document_fromstring(text or "<html></html>", parser=parser)
    except etree.ParserError:  # nothing but white space and comments
        document = None
    _read_whole(parser, url or "a page")
    if document is None:
        return lxml.html.document_fromstring("<html></html>", parser=parser)
    return document


def _parser() -> lxml.html.HTMLParser:
    """This thread's parser, built once. Checks run in several threads, and a shared parser
    could show one thread the error log (whole tree or cut?) of another's parse."""
    parser: lxml.html.HTMLParser | None = getattr(_THREAD, "parser", None)
    if parser is None:
        parser = _THREAD.parser = lxml.html.HTMLParser(huge_tree=True)
    return parser


def _read_whole(parser: lxml.html.HTMLParser, where: str) -> None:
    """libxml2 reports a limit it hit (or bytes it could not read) only as a fatal error in the
    log, and keeps the tree it had built: a text cut there is no reading of the release."""
    for error in parser.error_log.filter_from_fatals():
        depth = _EXCESSIVE_DEPTH.search(error.message)
        if depth:
            raise ExtractError(f"markup nested deeper than {depth.group(1)} levels: {where}")
        raise ExtractError(f"markup not readable to its end ({error.message.strip()}): {where}")


def _container(html: str, where: str) -> HtmlElement:
    """An HTML fragment in a <div>, read whole or not at all."""
    parser = _parser()
    try:
        container = lxml.html.fragment_fromstring(html, create_parent="div", parser=parser)
    except (etree.ParserError, AssertionError) as exc:
        # a whole document where a fragment belongs: "<!doctype html>" alone, "<html lang=en>"
        reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise ExtractError(f"not an HTML fragment ({reason}): {where}") from None
    _read_whole(parser, where)
    return container


def listing(page: Page, selectors: Selectors) -> Listing:
    try:
        return _listing(page, selectors)
    except (ValueError, LookupError) as exc:  # what a malformed page can raise from deep down
        raise ExtractError(f"unreadable listing ({exc}): {page.final_url}") from exc


def _listing(page: Page, selectors: Selectors) -> Listing:
    if not selectors.item:
        raise ExtractError(f"no item selector for the listing {page.final_url}")
    document = parse(page.body, page.encoding, url=page.final_url)
    items: dict[str, None] = {}
    for element in _css(selectors.item)(document):
        link = element if element.tag == "a" else next(iter(element.iter("a")), None)
        url = _web_link(page.final_url, link.get("href") if link is not None else None)
        if url:
            items[url] = None
    next_url = None
    for candidate in _select_in_order(document, selectors.next):
        next_url = _web_link(page.final_url, candidate.get("href"))
        if next_url:
            break
    return Listing(tuple(items), next_url)


def _web_link(base: str, href: str | None) -> str | None:
    """Where a link leads, if it is a web page: not a fragment of this one, and never a
    `javascript:` "Load more" or "Print" link, a `mailto:` or a `tel:`."""
    if not href or not href.strip() or href.strip().startswith("#"):
        return None
    url = absolute(base, href)
    return url if is_web_url(url) else None


def article(page: Page, selectors: Selectors) -> Article:
    """The article on a page: title, date, body region minus exclusions."""
    try:
        return _article(page, selectors)
    except (ValueError, LookupError) as exc:  # what a malformed page can raise from deep down
        raise ExtractError(f"unreadable page ({exc}): {page.final_url}") from exc


def _article(page: Page, selectors: Selectors) -> Article:
    document = parse(page.body, page.encoding, url=page.final_url)
    region = next(_select_in_order(document, selectors.content), None)
    if region is None:
        raise ExtractError(f"no article region ({selectors.content}) on {page.final_url}")
    title = _title(document, selectors.title)
    if not title:
        raise ExtractError(f"no title ({selectors.title}) on {page.final_url}")
    published = _published(document, selectors.date, day_first=bool(selectors.day_first))
    wp_id = _wp_id(document)
    body_classes = set(" ".join(_BODY_CLASS(document)).split())
    is_article = not body_classes & _LISTING_CLASSES
    text, html, attachments = region_content(region, page.final_url, selectors.exclude)
    return Article(title, published, text, html, attachments, wp_id, is_article)


def fragment(
    html: str, base_url: str, exclude: Iterable[str] = ()
) -> tuple[str, str, tuple[Attachment, ...]]:
    """An HTML fragment (a REST API `content.rendered`, a feed's `content:encoded`) read exactly
    as the same markup is read inside a page."""
    html = _FEED_FOOTER.sub("", html).strip()
    if not html:
        return "", "", ()
    return region_content(_container(html, base_url), base_url, exclude)


def html_text(html: str) -> str:
    """Text of a short HTML string, such as a REST API `title.rendered`."""
    if "<" not in html and "&" not in html:
        return clean_line(html)
    return clean_line(_container(html, "a title").text_content())


def region_content(
    region: HtmlElement, base_url: str, exclude: Iterable[str]
) -> tuple[str, str, tuple[Attachment, ...]]:
    excluded = ", ".join(exclude)
    if excluded:
        for element in _css(excluded)(region):
            if element is not region:
                element.drop_tree()  # keeps the text that follows it
    attachments: dict[str, Attachment] = {}
    for link in region.iter("a"):
        href = link.get("href")
        if not href:
            continue
        href = absolute(base_url, href)
        link.set("href", href)
        if _is_attachment(href) and href not in attachments:
            attachments[href] = Attachment(href, clean_line(link.text_content()) or href)
    text = _block_text(region)
    html = nh3.clean(
        _inner_html(region),
        tags=_SANITISED_TAGS,
        attributes=_SANITISED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()
    return text, html, tuple(attachments.values())


def snapshot(
    *,
    url: str,
    title: str,
    published: datetime | None,
    text: str,
    html: str,
    attachments: tuple[Attachment, ...],
    origin: Origin,
    wp_id: int | None = None,
    source_modified: str | None = None,
) -> ReleaseSnapshot:
    """A release reading; its key is the WordPress post id when known (a changed slug is the
    same release), else the canonical URL. Its link must be http(s): readers follow it."""
    if not is_web_url(url):
        raise ExtractError(f"not an http(s) link: {url[:80]!r}")
    return ReleaseSnapshot(
        key=release_key(url, wp_id),
        url=url,
        title=title,
        published=published,
        text=text,
        html=html,
        attachments=attachments,
        content_hash=content_hash(title, text, attachments),
        origin=origin,
        wp_id=wp_id,
        source_modified=source_modified,
    )


def parse_date(value: str, *, day_first: bool = False) -> datetime | None:
    """An aware UTC datetime from what pages and feeds write: ISO 8601, RFC 822, '8 June 2026',
    'May 7th, 2021'; '05/02/2019' is 2 May, or with `day_first` 5 February. A date without a
    time is midnight UTC; text without a year is no date."""
    value = clean_line(value)
    if not value or not _NEEDS_A_YEAR.search(value):
        return None
    try:
        first, second = (
            dateparser.parse(value, fuzzy=True, default=d, dayfirst=day_first)
            for d in _DATE_DEFAULTS
        )
    except (ValueError, OverflowError):
        return None
    if (first.year, first.month, first.day) != (second.year, second.month, second.day):
        return None  # "ASEAN 2026" is a year, not a date: dateutil would fill in the rest
    parsed = first
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@lru_cache(maxsize=256)
def _css(selector: str) -> CSSSelector:
    """A selector list compiled once; matches come in document order."""
    return CSSSelector(selector, translator="html")


@lru_cache(maxsize=256)
def _css_in_order(selectors: str) -> tuple[etree.XPath, ...]:
    """Each selector of a list compiled apart, to be tried in the order written."""
    translator = HTMLTranslator()
    return tuple(etree.XPath(translator.selector_to_xpath(part)) for part in css_parse(selectors))


def _select_in_order(document: HtmlElement, selectors: str | None) -> Iterator[HtmlElement]:
    """Matches of the first selector of the list, then the second's...: earlier selectors are
    preferred, whatever the document order."""
    for xpath in _css_in_order(selectors or ""):
        yield from xpath(document)


def _is_attachment(href: str) -> bool:
    path = href.split("?", 1)[0].split("#", 1)[0]
    return bool(_DOCUMENT.search(path)) or bool(_UPLOADS.search(path) and "." in path[-6:])


def _block_text(region: HtmlElement) -> str:
    # A stack, not recursion: trees are up to 2048 levels deep, past Python's recursion limit.
    # It holds what is still to be written, the next on top: text, or an element to open.
    parts: list[str] = []
    pending: list[str | HtmlElement] = [region]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        if item.text:
            parts.append(item.text)
        for child in reversed(item):
            if child.tail:
                pending.append(child.tail)
            tag = child.tag
            if not isinstance(tag, str) or tag in _INVISIBLE:
                pass  # a comment, a processing instruction, a script: only its tail is text
            elif tag == "br":
                pending.append(LINE_BREAK)
            elif tag in _BLOCKS:
                pending += (PARAGRAPH_BREAK, child, PARAGRAPH_BREAK)
            else:
                pending.append(child)
    return join_marked("".join(parts))


def _inner_html(region: HtmlElement) -> str:
    inner = [html_escape(region.text or "", quote=False)]
    inner += [lxml.html.tostring(child, encoding="unicode") for child in region]
    return "".join(inner)


def _title(document: HtmlElement, selectors: str | None) -> str:
    for element in _select_in_order(document, selectors):
        text = clean_line(element.text_content())
        if text:
            return text
    for content in _OG_TITLE(document):
        return clean_line(str(content))
    titles = _TITLE(document)
    title = clean_line(titles[0].text_content()) if titles else ""
    for site_name in _OG_SITE_NAME(document):
        # "Title – Site name": the site's name is not the release's title
        title = re.sub(rf"\s+[-–—|]\s+{re.escape(clean_line(str(site_name)))}$", "", title)
    return title


def _published(
    document: HtmlElement, selectors: str | None, *, day_first: bool = False
) -> datetime | None:
    candidates = list(_select_in_order(document, selectors))
    candidates += _css("meta[property='article:published_time'], time[datetime]")(document)
    for element in candidates:
        for name in ("href", "datetime", "content"):
            value = element.get(name)
            if not value:
                continue
            day = _DAY_ARCHIVE.search(value)
            if day:
                year, month, date = (int(g) for g in day.groups())
                try:
                    return datetime(year, month, date, tzinfo=UTC)
                except ValueError:
                    continue  # /2026/13/45/ is no day
            if element.tag != "a" and (parsed := parse_date(value, day_first=day_first)):
                return parsed
        text = element.text_content()
        if element.tag != "meta" and (parsed := parse_date(text, day_first=day_first)):
            return parsed
    return None


def _wp_id(document: HtmlElement) -> int | None:
    """WordPress pages name their post id in the shortlink and in the body class."""
    for href in _SHORTLINK(document):
        match = _POST_ID.search(str(href))
        if match:
            return int(match.group(1))
    for css_class in _BODY_CLASS(document):
        match = _POSTID_CLASS.search(str(css_class))
        if match:
            return int(match.group(1))
    return None
