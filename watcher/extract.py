"""Pages and HTML fragments -> the article's title, date, text, sanitised HTML and attachments.

The only module that parses HTML. The article region is found by the source's selectors; menus,
sidebars and footers never reach the text, so a site-wide widget change is never an edit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import nh3
from bs4 import BeautifulSoup, Tag
from bs4.element import (
    CData,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
)
from dateutil import parser as dateparser

from watcher.errors import ExtractError
from watcher.models import Attachment, Origin, Page, ReleaseSnapshot
from watcher.profiles import Selectors
from watcher.text import LINE_BREAK, PARAGRAPH_BREAK, clean_line, content_hash, join_marked
from watcher.urls import absolute, canonical_url

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
_SKIPPED_STRINGS = (Comment, CData, Declaration, Doctype, ProcessingInstruction)
_DOCUMENT = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|odt|ods|zip|rtf|csv)$", re.IGNORECASE)
_UPLOADS = re.compile(r"/(wp-content/uploads|storage)/", re.IGNORECASE)
_DAY_ARCHIVE = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/?$")
_POST_ID = re.compile(r"[?&]p=(\d+)(?:&|$)")
_POSTID_CLASS = re.compile(r"^postid-(\d+)$")
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


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    published: datetime | None
    text: str
    html: str
    attachments: tuple[Attachment, ...]
    wp_id: int | None


@dataclass(frozen=True, slots=True)
class Listing:
    items: tuple[str, ...]  # absolute article URLs, in page order, without repeats
    next_url: str | None


def parse(body: bytes | str, encoding: str | None = None) -> BeautifulSoup:
    if isinstance(body, str):
        return BeautifulSoup(body, "lxml")
    return BeautifulSoup(body, "lxml", from_encoding=encoding)


def listing(page: Page, selectors: Selectors) -> Listing:
    if not selectors.item:
        raise ExtractError(f"no item selector for the listing {page.final_url}")
    soup = parse(page.body, page.encoding)
    items: dict[str, None] = {}
    for element in soup.select(selectors.item):
        link = element if element.name == "a" else element.select_one("a[href]")
        href = link.get("href") if link is not None else None
        if isinstance(href, str) and href.strip() and not href.startswith("#"):
            items[absolute(page.final_url, href)] = None
    next_url = None
    if selectors.next:
        for candidate in _select_in_order(soup, selectors.next):
            href = candidate.get("href")
            if isinstance(href, str) and href.strip():
                next_url = absolute(page.final_url, href)
                break
    return Listing(tuple(items), next_url)


def article(page: Page, selectors: Selectors) -> Article:
    """The article on a page: title, date, body region minus exclusions."""
    soup = parse(page.body, page.encoding)
    region = _first(soup, selectors.content)
    if region is None:
        raise ExtractError(f"no article region ({selectors.content}) on {page.final_url}")
    title = _title(soup, selectors.title)
    if not title:
        raise ExtractError(f"no title ({selectors.title}) on {page.final_url}")
    published = _published(soup, selectors.date)
    text, html, attachments = region_content(region, page.final_url, selectors.exclude)
    return Article(title, published, text, html, attachments, _wp_id(soup))


def fragment(
    html: str, base_url: str, exclude: Iterable[str] = ()
) -> tuple[str, str, tuple[Attachment, ...]]:
    """An HTML fragment (a REST API `content.rendered`, a feed's `content:encoded`) read exactly
    as the same markup would be read inside a page."""
    soup = parse(_FEED_FOOTER.sub("", html))
    return region_content(soup.body or soup, base_url, exclude)


def html_text(html: str) -> str:
    """Text of a short HTML string, such as a REST API `title.rendered`."""
    if "<" not in html and "&" not in html:
        return clean_line(html)
    return clean_line(parse(html).get_text(" "))


def region_content(
    region: Tag, base_url: str, exclude: Iterable[str]
) -> tuple[str, str, tuple[Attachment, ...]]:
    for selector in exclude:
        for element in region.select(selector):
            element.decompose()
    attachments: dict[str, Attachment] = {}
    for link in region.find_all("a", href=True):
        href = absolute(base_url, str(link["href"]))
        link["href"] = href
        if _is_attachment(href) and href not in attachments:
            attachments[href] = Attachment(href, clean_line(link.get_text(" ")) or href)
    text = _block_text(region)
    html = nh3.clean(
        region.decode_contents(),
        tags=_SANITISED_TAGS,
        attributes={
            "a": {"href", "title"},
            "td": {"colspan", "rowspan"},
            "th": {"colspan", "rowspan"},
        },
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
    same release), else the canonical URL."""
    key = f"wp:{wp_id}" if wp_id is not None else canonical_url(url)
    return ReleaseSnapshot(
        key=key,
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


def parse_date(value: str) -> datetime | None:
    """An aware UTC datetime from what pages and feeds write: ISO 8601, RFC 822, '8 June 2026',
    'May 7th, 2021'. A date without a time is midnight UTC."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dateparser.parse(value, fuzzy=True, dayfirst=False)
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _is_attachment(href: str) -> bool:
    path = href.split("?", 1)[0].split("#", 1)[0]
    return bool(_DOCUMENT.search(path)) or bool(_UPLOADS.search(path) and "." in path[-6:])


def _block_text(region: Tag) -> str:
    parts: list[str] = []

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, _SKIPPED_STRINGS):
                    parts.append(str(child))
            elif isinstance(child, Tag):
                name = child.name
                if name == "br":
                    parts.append(LINE_BREAK)
                elif name in _BLOCKS:
                    parts.append(PARAGRAPH_BREAK)
                    walk(child)
                    parts.append(PARAGRAPH_BREAK)
                else:
                    walk(child)

    walk(region)
    return join_marked("".join(parts))


def _split_selectors(selectors: str) -> list[str]:
    """'a, b:is(c, d)' -> ['a', 'b:is(c, d)']: a selector list, in the order given."""
    out: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in selectors:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            out.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    out.append("".join(current).strip())
    return [part for part in out if part]


def _select_in_order(soup: Tag, selectors: str | None) -> Iterator[Tag]:
    """Matches of the first selector of the list, then the second's...: earlier selectors are
    preferred, whatever the document order."""
    for selector in _split_selectors(selectors or ""):
        yield from soup.select(selector)


def _first(soup: Tag, selectors: str | None) -> Tag | None:
    return next(_select_in_order(soup, selectors), None)


def _title(soup: BeautifulSoup, selectors: str | None) -> str:
    for element in _select_in_order(soup, selectors):
        text = clean_line(element.get_text(" "))
        if text:
            return text
    og = soup.select_one("meta[property='og:title']")
    if og is not None and og.get("content"):
        return clean_line(str(og["content"]))
    return clean_line(soup.title.get_text()) if soup.title else ""


def _published(soup: BeautifulSoup, selectors: str | None) -> datetime | None:
    candidates = list(_select_in_order(soup, selectors))
    candidates += soup.select("meta[property='article:published_time'], time[datetime]")
    for element in candidates:
        for value in (element.get("href"), element.get("datetime"), element.get("content")):
            if isinstance(value, str):
                day = _DAY_ARCHIVE.search(value)
                if day:
                    year, month, date = (int(g) for g in day.groups())
                    return datetime(year, month, date, tzinfo=UTC)
                if element.name != "a" and (parsed := parse_date(value)):
                    return parsed
        if element.name not in ("meta",) and (parsed := parse_date(element.get_text(" "))):
            return parsed
    return None


def _wp_id(soup: BeautifulSoup) -> int | None:
    """WordPress pages name their post id in the shortlink and in the body class."""
    shortlink = soup.select_one("link[rel=shortlink]")
    if shortlink is not None:
        match = _POST_ID.search(str(shortlink.get("href", "")))
        if match:
            return int(match.group(1))
    body = soup.body
    if body is not None:
        for css_class in body.get("class") or []:
            match = _POSTID_CLASS.match(css_class)
            if match:
                return int(match.group(1))
    return None
