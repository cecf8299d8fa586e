"""A simulated foreign ministry's site on 127.0.0.1 that re-posts ASEAN Secretariat releases.

SYNTHETIC: no real ministry's markup is copied. It is shaped after the "Press Statements" pages of
foreign ministries' sites (Singapore MFA's, whose copy of a Secretariat release is
tests/fixtures/asean/release-asean-russia-2019-mfa-repost.txt), a theme of their own, not
WordPress: a listing at /newsroom/press-statements, newest first and paged with `?page=2`, each
item a headline link, the date in the ministry's own format ("21 Feb 2019", or "21/02/2019") and
a teaser; article pages at /newsroom/press-statements/<slug> with the headline in an <h1>, a date
line, the body, and "Share this page" / "Travel Page" tools inside the article's container; a
masthead, a menu, a search box, breadcrumbs, a sidebar of other statements and a footer on every
page. Every page sends Last-Modified and ETag and answers 304 to If-None-Match (or, without it,
If-Modified-Since) when its bytes did not change.

`repost` copies a Secretariat release the way such sites do (see `repost_copy`), without
randomness: each change is an option. `ministry_source` is the `html` source that watches it.
"""

from __future__ import annotations

import hashlib
import html
import re
import textwrap
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from tests.helpers import serve_on_loopback

LISTING = "/newsroom/press-statements"
SITE_NAME = "Ministry of Foreign Affairs"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]  # fmt: skip

DateStyle = Literal["short", "numeric"]  # "21 Feb 2019" or "21/02/2019"
Headline = Literal["keep", "upper", "title", "sentence"]
Layout = Literal["keep", "rejoin", "rewrap"]

# The Secretariat's dateline: "BALI, 21 February 2019 – ..."
_DATELINE = re.compile(
    rf"^(?P<city>[A-Z][A-Za-z .'-]{{1,40}}), (?P<day>\d{{1,2}}) (?P<month>{'|'.join(MONTHS)}) "
    r"(?P<year>\d{4})\b"
)
_STRAIGHT = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})

Response = tuple[int, dict[str, str], bytes]


@dataclass
class Statement:
    slug: str
    title: str
    paragraphs: list[str]  # plain text; a "\n" inside one is a line break (<br>)
    published: datetime
    modified: datetime
    order: int  # ties on `published` list the later added first
    removed: bool = False


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    conditional: bool  # the request carried If-None-Match or If-Modified-Since


def format_date(when: date, style: DateStyle) -> str:
    if style == "numeric":
        return f"{when.day:02d}/{when.month:02d}/{when.year}"
    return f"{when.day} {MONTHS[when.month - 1][:3]} {when.year}"


def repost_copy(
    title: str,
    text_or_paragraphs: str | Sequence[str],
    *,
    date_style: DateStyle = "short",
    source_line: str | None = "Source: ASEAN Secretariat",
    headline: Headline = "keep",
    prefix: str = "",
    layout: Layout = "rejoin",
    join_at: int = 0,
    wrap_width: int = 72,
    straighten: bool = True,
) -> tuple[str, list[str]]:
    """The headline and paragraphs of a ministry's copy of a Secretariat release: the headline's
    case changed and/or a prefix ("Press Release: "), the dateline's date in the ministry's format,
    curly quotes straightened, paragraphs `join_at` and the next joined into one ("rejoin") or
    every paragraph hard-wrapped at `wrap_width` ("rewrap"), the source line added at the end."""
    paragraphs = (
        [p.strip() for p in text_or_paragraphs.split("\n\n") if p.strip()]
        if isinstance(text_or_paragraphs, str)
        else list(text_or_paragraphs)
    )
    cased = {
        "keep": title,
        "upper": title.upper(),
        "title": title.title(),
        "sentence": title.lower().capitalize(),
    }[headline]
    new_title = prefix + cased
    if paragraphs and (dateline := _DATELINE.match(paragraphs[0])):
        day = date(int(dateline["year"]), MONTHS.index(dateline["month"]) + 1, int(dateline["day"]))
        rest = paragraphs[0][dateline.end() :]
        paragraphs[0] = f"{dateline['city']}, {format_date(day, date_style)}{rest}"
    if straighten:
        new_title = new_title.translate(_STRAIGHT)
        paragraphs = [p.translate(_STRAIGHT) for p in paragraphs]
    if layout == "rejoin" and join_at + 1 < len(paragraphs):
        joined = f"{paragraphs[join_at]} {paragraphs[join_at + 1]}"
        paragraphs[join_at : join_at + 2] = [joined]
    elif layout == "rewrap":
        paragraphs = [textwrap.fill(p, wrap_width) for p in paragraphs]
    if source_line:
        paragraphs.append(source_line)
    return new_title, paragraphs


def slugify(title: str) -> str:
    """A headline's slug, as such CMSs make it: "ASEAN, Russia commit to ..." gives
    "asean-russia-commit-to-..." (apostrophes dropped, not made a dash)."""
    words = title.lower().translate(_STRAIGHT).replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:80].rstrip("-")


class SimMinistry:
    """Context manager; `url` is valid once entered.

    A page's Last-Modified is when it last changed by the site's own clock: without `clock`, a
    logical one (a statement added is stamped with its publication, each later change a second
    after the one before), so runs are repeatable and the dates lie in the past; the watcher
    does not trust a Last-Modified less than a minute old (nor the ETag beside it), so a `clock`
    of real time makes a site edited just now. A stamp is always a second past the last one, so
    a client with only If-Modified-Since still tells two quick changes apart."""

    def __init__(
        self,
        *,
        per_page: int = 10,
        date_style: DateStyle = "short",
        timezone: str = "Asia/Singapore",
        sidebar: int = 5,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.per_page = per_page
        self.date_style: DateStyle = date_style
        self.tz = ZoneInfo(timezone)
        self.sidebar = sidebar
        self.clock = clock
        # on every page around the content; tests change them to show they are never read
        self.menu = ["About Us", "Newsroom", "Overseas Missions", "Consular Services"]
        self.footer = "Copyright 2026 Ministry of Foreign Affairs. All rights reserved."
        self.statements: dict[str, Statement] = {}
        self.hits: list[Hit] = []
        self.lock = threading.RLock()
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
        # when a statement was added or removed: the listing and every sidebar changed
        self._structure_changed = self._last_stamp
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def __enter__(self) -> SimMinistry:
        self._server, self.url = serve_on_loopback(_handler(self))
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # -- what the ministry's editors do ----------------------------------------------------

    def add_statement(
        self,
        title: str,
        paragraphs: Sequence[str],
        published: datetime | date,
        *,
        slug: str | None = None,
    ) -> str:
        with self.lock:
            wanted = slugify(slug or title) or "statement"
            unique, number = wanted, 2
            while unique in self.statements:
                unique, number = f"{wanted}-{number}", number + 1
            when = self._aware(published)
            stamp = self._stamp(when)
            self.statements[unique] = Statement(
                slug=unique,
                title=title,
                paragraphs=list(paragraphs),
                published=when,
                modified=stamp,
                order=len(self.statements),
            )
            self._structure_changed = stamp
            return unique

    def repost(
        self,
        title: str,
        text_or_paragraphs: str | Sequence[str],
        published: datetime | date,
        *,
        source_line: str | None = "Source: ASEAN Secretariat",
        headline: Headline = "keep",
        prefix: str = "",
        layout: Layout = "rejoin",
        join_at: int = 0,
        wrap_width: int = 72,
        straighten: bool = True,
        slug: str | None = None,
    ) -> str:
        """A Secretariat release copied onto the ministry's site (see `repost_copy`)."""
        new_title, paragraphs = repost_copy(
            title,
            text_or_paragraphs,
            date_style=self.date_style,
            source_line=source_line,
            headline=headline,
            prefix=prefix,
            layout=layout,
            join_at=join_at,
            wrap_width=wrap_width,
            straighten=straighten,
        )
        return self.add_statement(new_title, paragraphs, published, slug=slug)

    def edit(
        self,
        slug: str,
        *,
        title: str | None = None,
        paragraphs: Sequence[str] | None = None,
        published: datetime | date | None = None,
    ) -> None:
        with self.lock:
            statement = self.statements[slug]
            statement.title = title if title is not None else statement.title
            if paragraphs is not None:
                statement.paragraphs = list(paragraphs)
            if published is not None:
                statement.published = self._aware(published)
                self._structure_changed = self._stamp()  # the listing's order may change
            statement.modified = self._stamp()

    def remove(self, slug: str) -> None:
        with self.lock:
            self.statements[slug].removed = True
            self._structure_changed = self._stamp()

    def set_menu(self, items: Sequence[str]) -> None:
        with self.lock:
            self.menu = list(items)
            self._structure_changed = self._stamp()

    def set_footer(self, text: str) -> None:
        with self.lock:
            self.footer = text
            self._structure_changed = self._stamp()

    # -- for the tests ---------------------------------------------------------------------

    def path(self, slug: str) -> str:
        return f"{LISTING}/{slug}"

    def link(self, slug: str) -> str:
        return f"{self.url}{self.path(slug)}"

    @property
    def listing_url(self) -> str:
        return f"{self.url}{LISTING}"

    def published(self) -> list[Statement]:
        """Newest first, as the listing shows them."""
        shown = [s for s in self.statements.values() if not s.removed]
        return sorted(shown, key=lambda s: (s.published, s.order), reverse=True)

    def local_date(self, statement: Statement) -> date:
        return statement.published.astimezone(self.tz).date()

    def shown_date(self, statement: Statement) -> str:
        return format_date(self.local_date(statement), self.date_style)

    def listing_hits(self) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.path.rstrip("/") == LISTING]

    def article_hits(self) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.path.startswith(f"{LISTING}/")]

    def clear_hits(self) -> None:
        with self.lock:
            self.hits.clear()

    def _stamp(self, at: datetime | None = None) -> datetime:
        candidates = [self._last_stamp + timedelta(seconds=1)]
        candidates += [when for when in (at, self.clock() if self.clock else None) if when]
        self._last_stamp = max(c.astimezone(UTC).replace(microsecond=0) for c in candidates)
        return self._last_stamp

    def _aware(self, when: datetime | date) -> datetime:
        if isinstance(when, datetime):
            return when if when.tzinfo else when.replace(tzinfo=self.tz)
        # a date alone: published in the morning, ministry time
        return datetime.combine(when, time(9, 0), tzinfo=self.tz)


def ministry_source(
    site: SimMinistry, name: str = "mfa", every: str = "1h", **extra: Any
) -> dict[str, Any]:
    """The `html` source that watches the simulated ministry, ready for write_config."""
    return {
        "name": name,
        "type": "html",
        "url": site.listing_url,
        "every": every,
        "selectors": {
            "item": ".statement-list .statement-item h3 a",
            "next": ".pagination a.next",
            "title": ".statement-header h1",
            "date": ".statement-header .statement-date",
            "content": ".statement-content",
            "exclude": [".page-tools"],
        },
        **extra,
    }


# -- pages -----------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _page(site: SimMinistry, title: str, main: str, *, crumbs: Sequence[tuple[str, str]]) -> str:
    menu = "".join(f'<li><a href="/{slugify(item)}">{_e(item)}</a></li>' for item in site.menu)
    trail = " <span>&rsaquo;</span> ".join(
        f'<a href="{href}">{_e(label)}</a>' if href else f"<span>{_e(label)}</span>"
        for label, href in [("Home", "/"), *crumbs]
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} | {SITE_NAME}</title>
<link rel="stylesheet" href="/assets/css/main.css">
</head>
<body>
<div class="masthead">
  <a class="logo" href="/"><img src="/assets/img/crest.png" alt=""> {SITE_NAME}</a>
  <div class="utility-links"><a href="/contact-us">Contact Us</a> <a href="/feedback">Feedback</a>
  <a href="/sitemap">Sitemap</a></div>
</div>
<div class="site-header">
  <nav class="main-menu"><ul>{menu}</ul></nav>
  <form class="site-search" action="/search" method="get">
    <label for="q">Search this site</label> <input id="q" name="q" type="text">
    <button type="submit">Search</button>
  </form>
</div>
<main id="main-content">
<nav class="breadcrumbs" aria-label="Breadcrumb">{trail}</nav>
{main}
</main>
<footer class="site-footer">
  <ul><li><a href="/privacy-statement">Privacy Statement</a></li><li><a href="/terms-of-use">Terms of Use</a></li>
  <li><a href="/rate-this-website">Rate this website</a></li></ul>
  <p>{_e(site.footer)}</p>
</footer>
<script src="/assets/js/main.js"></script>
</body>
</html>
"""


def _paragraph(text: str) -> str:
    return "<p>" + "<br>\n".join(_e(line) for line in text.split("\n")) + "</p>"


def _teaser(statement: Statement, words: int = 30) -> str:
    first = " ".join(statement.paragraphs[0].split()) if statement.paragraphs else ""
    cut = first.split(" ")
    return first if len(cut) <= words else " ".join(cut[:words]) + " ..."


def _listing(site: SimMinistry, number: int) -> tuple[str, list[Statement]]:
    statements = site.published()
    pages = max(1, -(-len(statements) // site.per_page))
    shown = statements[(number - 1) * site.per_page : number * site.per_page]
    items = "\n".join(
        f"""<li class="statement-item">
  <p class="statement-date">{site.shown_date(s)}</p>
  <h3><a href="{site.path(s.slug)}">{_e(s.title)}</a></h3>
  <p class="teaser">{_e(_teaser(s))}</p>
</li>"""
        for s in shown
    )
    if not shown:
        items = '<li class="no-results">No press statements found.</li>'
    links = [f'<a class="prev" href="?page={number - 1}">Previous</a>'] if number > 1 else []
    links += [
        f'<span class="current">{n}</span>' if n == number else f'<a href="?page={n}">{n}</a>'
        for n in range(1, pages + 1)
    ]
    if number < pages:
        links.append(f'<a class="next" href="?page={number + 1}">Next</a>')
    # a highlight of the newest statement above the list, as such sites have: not an item
    newest = statements[0] if statements else None
    featured = (
        f'<div class="featured"><h2>Highlights</h2><a href="{site.path(newest.slug)}">'
        f"{_e(newest.title)}</a></div>"
        if newest and number == 1
        else ""
    )
    main = f"""<h1 class="page-title">Press Statements</h1>
{featured}
<form class="listing-filter" action="{LISTING}" method="get">
  <label for="year">Year</label> <select id="year" name="year"><option>All</option></select>
  <button type="submit">Filter</button>
</form>
<ul class="statement-list">
{items}
</ul>
<div class="pagination">{" ".join(links)}</div>"""
    crumbs = [("Newsroom", "/newsroom"), ("Press Statements", "")]
    return _page(site, "Press Statements", main, crumbs=crumbs), shown


def _article(site: SimMinistry, statement: Statement) -> tuple[str, list[Statement]]:
    others = [s for s in site.published() if s.slug != statement.slug][: site.sidebar]
    sidebar = "".join(
        f'<li><a href="{site.path(s.slug)}">{_e(s.title)}</a> '
        f'<span class="date">{site.shown_date(s)}</span></li>'
        for s in others
    )
    body = "\n".join(_paragraph(p) for p in statement.paragraphs)
    main = f"""<div class="layout">
<div class="content-column">
<div class="statement-header">
  <p class="category">Press Statements</p>
  <h1>{_e(statement.title)}</h1>
  <p class="statement-date">{site.shown_date(statement)}</p>
</div>
<div class="statement-content">
{body}
<div class="page-tools">
  <p class="share-title">Share this page</p>
  <ul class="share"><li><a href="#" data-share="facebook">Facebook</a></li>
  <li><a href="#" data-share="x">X</a></li><li><a href="#" data-share="email">Email</a></li>
  <li><a href="#" onclick="window.print()">Print</a></li></ul>
  <p><a class="travel-page" href="/travel-page">Travel Page</a></p>
</div>
</div>
</div>
<aside class="sidebar"><h2>Other Press Statements</h2><ul>{sidebar}</ul></aside>
</div>"""
    crumbs = [
        ("Newsroom", "/newsroom"),
        ("Press Statements", LISTING),
        (statement.title, ""),
    ]
    return _page(site, statement.title, main, crumbs=crumbs), [statement, *others]


def _not_found(site: SimMinistry) -> Response:
    main = '<h1 class="page-title">Page Not Found</h1><p>The page you requested is not here.</p>'
    body = _page(site, "Page Not Found", main, crumbs=[("Page Not Found", "")]).encode()
    return 404, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}, body


def _route(site: SimMinistry, path: str, query: dict[str, list[str]], headers: Any) -> Response:
    if path == "/robots.txt":
        robots = b"User-agent: *\nDisallow: /search\n"
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, robots
    if path.rstrip("/") == LISTING:
        wanted = (query.get("page") or ["1"])[-1]
        number = int(wanted) if wanted.isdigit() and int(wanted) >= 1 else 1
        page, shown = _listing(site, number)
        return _conditional(site, headers, page, shown)
    if path.startswith(f"{LISTING}/"):
        statement = site.statements.get(path.removeprefix(f"{LISTING}/").rstrip("/"))
        if statement is not None and not statement.removed:
            page, shown = _article(site, statement)
            return _conditional(site, headers, page, shown)
    return _not_found(site)


def _conditional(site: SimMinistry, headers: Any, page: str, shown: list[Statement]) -> Response:
    """200, or 304 when the client's copy is current: by ETag, else by date (the page changed
    last when a statement on it was edited, or one was added or removed)."""
    body = page.encode()
    etag = f'"{hashlib.sha1(body).hexdigest()[:20]}"'
    modified = max([site._structure_changed, *(s.modified for s in shown)])
    validators = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
    fresh = {"Cache-Control": "no-cache", **validators}
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if etag in tags or "*" in tags:
            return 304, fresh, b""
    elif (since := headers.get("If-Modified-Since")) is not None:
        try:
            if modified <= parsedate_to_datetime(since):
                return 304, fresh, b""
        except (TypeError, ValueError):
            pass  # a date that does not parse is ignored, as servers do
    return 200, {"Content-Type": "text/html; charset=utf-8", **fresh}, body


def _handler(site: SimMinistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # headers and body in one write (see tests/sim/wordpress.py)

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            conditional = any(
                name in self.headers for name in ("If-None-Match", "If-Modified-Since")
            )
            with site.lock:
                status, headers, content = _route(site, parts.path, query, self.headers)
                site.hits.append(Hit(self.command, parts.path, query, status, conditional))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if body:
                self.wfile.write(content)

    return Handler
