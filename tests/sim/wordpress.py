"""A simulated WordPress site on 127.0.0.1 that tests can mutate.

Shaped like WordPress 6.1 with asean.org's setup: the REST API
(`/wp-json/wp/v2/...`, Handbook field names, parameters, headers, paging links and error bodies),
the RSS 2.0 feed template with `content:encoded`, the site-wide `Last-Modified`/`ETag` and 304s
WordPress gives feeds, pretty permalinks, old-slug redirects, category listings, and article pages
in asean.org's Elementor theme or a classic theme (Twenty Twenty-One's markup), with a menu, a
"latest news" sidebar, a tagline and a footer that appear on every page. Text goes through
WordPress's own filters (wptexturize, wpautop, excerpts, feed escaping).

`yoast=True` adds what the Yoast SEO plugin changes: the feed footer ("The post ... appeared
first on ...") and its document titles ("Title - Site", "Category Archives - Site").
`etags=True` puts a caching layer in front of the HTML pages (ETag and 304 on If-None-Match).
`tests/test_wordpress_contract.py` holds the simulation to what a real WordPress does.

This module holds the site (`SimWordPress`) and its HTTP routing; the rest lives beside it:
model.py (what the modules share), wpfilters.py (WordPress's text filters), rest.py and
restparams.py (the REST API), feeds.py (RSS) and pages.py (the themes' HTML pages).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from tests.helpers import serve_on_loopback
from tests.pdfs import text_pdf
from tests.sim import feeds, pages, rest
from tests.sim.model import CHALLENGE_PAGE, NO_CACHE, Post, Request, Response
from tests.sim.wpfilters import esc_html, sanitize_title, the_content, the_title, wp_trim_words
from tests.wpsite import CATEGORIES, SITE_NAME, SITE_TIMEZONE

JOINT_STATEMENT = "/wp-content/uploads/2026/05/Joint-Statement.pdf"
API_MODES = ("on", "forbidden", "not_found", "html", "challenge", "invalid_json")
THEMES = ("asean", "classic")

# Every install has term 1; the site's own categories follow it, as on the real test site.
UNCATEGORIZED = ("uncategorized", "Uncategorized")


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    headers: dict[str, str]


class SimWordPress:
    """Context manager; `url` is valid once entered."""

    def __init__(
        self,
        *,
        theme: str = "asean",
        yoast: bool = True,
        api: str = "on",
        timezone: str = SITE_TIMEZONE,
        robots: str | None = None,
        etags: bool = False,
        feed_content: bool = True,
        post_ids_on_pages: bool = True,
    ) -> None:
        assert theme in THEMES, theme
        self.theme = theme
        self.yoast = yoast
        self.api = api
        self.tz = ZoneInfo(timezone)
        self.robots = robots
        self.etags = etags  # send ETag on HTML pages and answer 304 (a caching layer in front)
        # False: feeds carry the excerpt only (as asean.org's captured feed does), so a reader
        # of the feed must read the article pages
        self.feed_content = feed_content
        # False: pages name no post id (no shortlink, no postid- class), as some themes do
        self.post_ids_on_pages = post_ids_on_pages
        self.delays: dict[str, float] = {}  # path -> seconds to wait before answering
        self.held: set[str] = set()  # paths answered only once released (see hold)
        self._released = threading.Event()
        self.waiting: list[str] = []  # delayed or held requests, as they arrive
        self.challenge = False
        self.tagline = "One Vision, One Identity, One Community"
        self.sidebar_note = "Latest News"
        self.footer = "ABOUT ASEAN: The Association of Southeast Asian Nations was established on 8 August 1967."
        self.menu = ["Home", "About ASEAN", "What We Do", "News & Events"]
        self.posts: dict[int, Post] = {}
        # the media library, by path: what /wp-content/uploads/ serves (as the web server
        # does, with ETag and Last-Modified, and 304). The statement the tests' posts link to:
        self.media: dict[str, bytes] = {JOINT_STATEMENT: text_pdf(["Joint Statement", "Text."])}
        self.category_ids = {slug: index + 2 for index, slug in enumerate(CATEGORIES)}
        self.faults: dict[str, int] = {}  # path -> HTTP status to answer instead
        # rewrites every answer, as a proxy, a plugin or a broken site would
        self.tamper: Callable[[Request, Response], Response] | None = None
        self.hits: list[Hit] = []
        # requests being answered now, the most at once, and when each arrived (monotonic)
        self.in_flight = 0
        self.max_in_flight = 0
        self.arrivals: list[float] = []
        self._flight = threading.Lock()
        self.lock = threading.RLock()
        self._next_id = 100
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> SimWordPress:
        self._server, self.url = serve_on_loopback(_handler(self))
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def hold(self, path: str) -> None:
        """Requests for `path` wait, for a minute at most, until release(): a check that is
        busy for as long as a test needs, however slowly the machine runs."""
        self.held.add(path)
        self._released.clear()

    def release(self) -> None:
        self.held.clear()
        self._released.set()

    @contextmanager
    def releasing(self) -> Iterator[None]:
        """Releases what is held on the way out, however the block ends."""
        try:
            yield
        finally:
            self.release()

    # -- the WordPressSite protocol ----------------------------------------------------------

    def add_post(
        self,
        title: str,
        content: str,
        *,
        categories: Sequence[str] = ("news",),
        date_gmt: datetime | None = None,
        slug: str | None = None,
    ) -> int:
        with self.lock:
            now = _now()
            post_id = self._next_id
            self._next_id += 1
            when = (date_gmt or now).astimezone(UTC).replace(microsecond=0)
            wanted = sanitize_title(slug if slug is not None else title) or str(post_id)
            self.posts[post_id] = Post(
                id=post_id,
                slug=self._unique_slug(wanted, post_id),
                title=title,
                content=content,
                date_gmt=when,
                modified_gmt=now,
                categories=list(categories),
            )
            return post_id

    def edit_post(
        self, post_id: int, *, title: str | None = None, content: str | None = None
    ) -> None:
        with self.lock:
            post = self.posts[post_id]
            post.title = title if title is not None else post.title
            post.content = content if content is not None else post.content
            post.modified_gmt = _now()

    def set_modified(self, post_id: int, modified_gmt: datetime) -> None:
        with self.lock:
            self.posts[post_id].modified_gmt = modified_gmt.astimezone(UTC).replace(microsecond=0)

    def change_slug(self, post_id: int, slug: str) -> None:
        with self.lock:
            post = self.posts[post_id]
            new = self._unique_slug(sanitize_title(slug) or str(post_id), post_id)
            if new == post.slug:
                return
            # WordPress keeps the old slug (for the redirect) and forgets one that is reused.
            post.old_slugs = [s for s in [*post.old_slugs, post.slug] if s != new]
            post.slug = new
            post.modified_gmt = _now()

    def trash_post(self, post_id: int) -> None:
        with self.lock:
            self.posts[post_id].status = "trash"
            self.posts[post_id].modified_gmt = _now()

    def untrash_post(self, post_id: int) -> None:
        with self.lock:
            post = self.posts[post_id]
            # A trashed post gives up its slug; it gets it back unless another post took it.
            post.slug = self._unique_slug(post.slug, post_id)
            post.status = "publish"
            post.modified_gmt = _now()

    def set_tagline(self, text: str) -> None:
        with self.lock:
            self.tagline = text

    # -- more mutations ----------------------------------------------------------------------

    def set_sidebar(self, text: str) -> None:
        with self.lock:
            self.sidebar_note = text

    def set_footer(self, text: str) -> None:
        with self.lock:
            self.footer = text

    def set_menu(self, items: Sequence[str]) -> None:
        with self.lock:
            self.menu = list(items)

    def upload(self, path: str, data: bytes) -> None:
        """A media file put (or replaced) at `path`: WordPress's posts do not change with it."""
        with self.lock:
            self.media[path] = data

    def delete_media(self, path: str) -> None:
        with self.lock:
            del self.media[path]

    def set_api(self, mode: str) -> None:
        assert mode in API_MODES, mode
        self.api = mode

    def requests_to(self, prefix: str) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.path.startswith(prefix)]

    def clear_hits(self) -> None:
        with self.lock:
            self.hits.clear()

    def link(self, post_id: int) -> str:
        return f"{self.url}/{self.posts[post_id].slug}/"

    # -- rendering helpers -----------------------------------------------------------------

    def published(self) -> list[Post]:
        return [p for p in self.posts.values() if p.status == "publish"]

    def set_timezone(self, name: str) -> None:
        with self.lock:
            self.tz = ZoneInfo(name)

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz).replace(tzinfo=None)

    def last_modified(self) -> datetime:
        """get_lastpostmodified('GMT'): the newest publication or edit of a published post."""
        stamps = [max(p.date_gmt, p.modified_gmt) for p in self.published()]
        return max(stamps, default=_now())

    def category_names(self) -> dict[str, str]:
        return {UNCATEGORIZED[0]: UNCATEGORIZED[1], **CATEGORIES}

    def category_id(self, slug: str) -> int:
        return 1 if slug == UNCATEGORIZED[0] else self.category_ids[slug]

    def _unique_slug(self, slug: str, post_id: int) -> str:
        # Trashed posts do not hold their slug (WordPress renames it to slug__trashed).
        taken = {p.slug for p in self.published() if p.id != post_id}
        if slug not in taken:
            return slug
        number = 2
        while f"{slug}-{number}" in taken:
            number += 1
        return f"{slug}-{number}"

    def rendered_content(self, post: Post) -> str:
        return the_content(post.content)

    def rendered_title(self, post: Post) -> str:
        return the_title(post.title)

    def excerpt(self, post: Post) -> str:
        """get_the_excerpt() of a post without a hand-written excerpt: 55 words and the theme's
        "more" (Twenty Twenty-One links to the post; core and Elementor themes add [...])."""
        if self.theme == "classic":
            more = (
                f'&hellip; <a class="more-link" href="{self.link(post.id)}">Continue reading '
                f'<span class="screen-reader-text">{self.rendered_title(post)}</span></a>'
            )
        else:
            more = " [&hellip;]"
        return wp_trim_words(self.rendered_content(post).replace("]]>", "]]&gt;"), 55, more)

    def feed_footer(self, post: Post) -> str:
        if not self.yoast:
            return ""
        return (
            f'<p>The post <a href="{self.link(post.id)}">{self.rendered_title(post)}</a> '
            f'appeared first on <a href="{self.url}">{SITE_NAME}</a>.</p>\n'
        )

    def stored_tagline(self) -> str:
        # update_option('blogdescription') stores the tagline through esc_html.
        return esc_html(self.tagline)

    def document_title(self, *parts: str) -> str:
        """The <title> (and a feed's channel title): core joins the parts and the site name with
        an en dash; Yoast with its default separator, "-"."""
        separator = " - " if self.yoast else " &#8211; "
        return separator.join([*parts, SITE_NAME])

    def home_title(self) -> str:
        separator = " - " if self.yoast else " &#8211; "
        return separator.join([SITE_NAME, self.stored_tagline()]) if self.tagline else SITE_NAME

    def category_title(self, slug: str) -> str:
        name = esc_html(self.category_names()[slug])
        return f"{name} Archives" if self.yoast else name


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# -- HTTP ------------------------------------------------------------------------------------


def _handler(site: SimWordPress) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body leave in one write, as from a real server: two small writes meet
        # the client's delayed ACK and cost every request 40 ms
        wbufsize = 1 << 16

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with site._flight:
                site.arrivals.append(time.monotonic())
                site.in_flight += 1
                site.max_in_flight = max(site.max_in_flight, site.in_flight)
            try:
                self._answer()
            finally:
                with site._flight:
                    site.in_flight -= 1

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            delay = site.delays.get(parts.path)
            if delay:
                site.waiting.append(parts.path)
                time.sleep(delay)
            if parts.path in site.held:
                site.waiting.append(parts.path)
                site._released.wait(timeout=60)
            query = parse_qs(parts.query, keep_blank_values=True)
            with site.lock:
                request = Request(parts.path, parts.query, self.headers)
                status, headers, body = _route(site, request)
                if site.tamper is not None:
                    status, headers, body = site.tamper(request, (status, headers, body))
                site.hits.append(Hit("GET", parts.path, query, status, headers))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _route(site: SimWordPress, request: Request) -> Response:
    path = request.path
    if path in site.faults:
        return site.faults[path], {"Content-Type": "text/html; charset=UTF-8"}, b"<h1>Error</h1>"
    if site.challenge:
        return (
            200,
            {"Content-Type": "text/html; charset=UTF-8", "X-Sucuri-ID": "11005"},
            CHALLENGE_PAGE,
        )
    if path == "/robots.txt":
        text = (
            site.robots
            if site.robots is not None
            else ("User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n")
        )
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()
    rest_route = request.arg("rest_route")
    if path == "/wp-json" or path.startswith("/wp-json/") or rest_route:
        route = rest_route if rest_route else path.removeprefix("/wp-json")
        return rest.api(site, route.rstrip("/") or "/", request)
    if path in site.media:
        return _media(site.media[path], request)
    feed = re.fullmatch(r"(?:/category/([^/]+))?/feed(?:/rss2)?/?", path)
    if feed:
        return feeds.feed(site, feed.group(1), request)
    return _page_route(site, request)


def _page_route(site: SimWordPress, request: Request) -> Response:
    path = request.path
    post_arg = request.arg("p")
    if path == "/" and post_arg is not None:
        post = site.posts.get(int(post_arg)) if post_arg.isdigit() else None
        if post and post.status == "publish":
            return _redirect(site.link(post.id))
        return pages.not_found(site)
    match = re.fullmatch(r"/category/([^/]+)/(?:page/(\d+)/)?", path)
    if match:
        return _conditional(
            site, request, pages.listing(site, match.group(1), int(match.group(2) or 1))
        )
    match = re.fullmatch(r"/([^/]+)/", path)
    if match:
        slug = match.group(1)
        for post in site.published():
            if post.slug == slug:
                return _conditional(site, request, pages.article(site, post))
        for post in site.posts.values():
            if slug in post.old_slugs:
                # A trashed post has no permalink: the redirect goes to its ?p= form.
                target = site.link(post.id) if post.status == "publish" else None
                return _redirect(target or f"{site.url}/?p={post.id}", no_cache=True)
    if path == "/":
        page = pages.render_page(site, "<p>Home</p>", title=site.home_title())
        return _conditional(site, request, (200, pages.html_headers(site), page))
    last = path.rsplit("/", 1)[-1]
    if last and "." not in last:
        # redirect_canonical: what exists with a trailing slash is redirected there, and an old
        # slug straight to the post.
        slashed = _page_route(site, Request(f"{path}/", "", request.headers))
        if slashed[0] == 301:
            return slashed
        if slashed[0] == 200:
            query = f"?{request.raw_query}" if request.raw_query else ""
            return _redirect(f"{site.url}{path}/{query}")
    return pages.not_found(site)


def _media(data: bytes, request: Request) -> Response:
    """A file as Apache serves it: its ETag from its bytes, a Last-Modified long past (a
    replaced file's date would be new, but its ETag alone tells)."""
    etag = f'"{hashlib.md5(data).hexdigest()}"'
    headers = {"ETag": etag, "Last-Modified": "Mon, 04 May 2026 02:00:00 GMT"}
    if request.headers.get("If-None-Match") == etag:
        return 304, headers, b""
    return 200, {**headers, "Content-Type": "application/pdf"}, data


def _redirect(location: str, *, no_cache: bool = False) -> Response:
    headers = {
        **(NO_CACHE if no_cache else {}),
        "Content-Type": "text/html; charset=UTF-8",
        "X-Redirect-By": "WordPress",
        "Location": location,
    }
    return 301, headers, b""


def _conditional(site: SimWordPress, request: Request, response: Response) -> Response:
    status, headers, body = response
    if not site.etags or status != 200:
        return response
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    headers = {**headers, "ETag": etag}
    if request.headers.get("If-None-Match") == etag:
        return 304, {"ETag": etag}, b""
    return status, headers, body
