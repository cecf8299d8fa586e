"""A simulated WordPress site on 127.0.0.1 that tests can mutate.

Shaped like WordPress 6.x with asean.org's setup (see ../shared/asean/SITE.md): the REST API
(`/wp-json/wp/v2/...`, Handbook field names, parameters, headers and error bodies), the RSS 2.0
feed template with `content:encoded` and the Yoast footer, pretty permalinks, old-slug redirects,
category listings, and article pages in asean.org's Elementor theme (or a classic theme), with a
menu, a "latest news" sidebar, a tagline and a footer that appear on every page.
`tests/test_wordpress_contract.py` holds it to what a real WordPress does.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from tests.wpsite import CATEGORIES, SITE_NAME, SITE_TIMEZONE

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHALLENGE_PAGE = (FIXTURES / "challenge-sucuri.html").read_bytes()
POSTS_PER_PAGE = 10  # WordPress's default for listings and feeds

API_MODES = ("on", "forbidden", "not_found", "html", "challenge", "invalid_json")


@dataclass
class Post:
    id: int
    slug: str
    title: str  # raw, as typed in the editor
    content: str  # raw; wpautop and wptexturize apply when rendered
    date_gmt: datetime
    modified_gmt: datetime
    categories: list[str]
    status: str = "publish"
    old_slugs: list[str] = field(default_factory=list)


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
    ) -> None:
        self.theme = theme
        self.yoast = yoast
        self.api = api
        self.tz = ZoneInfo(timezone)
        self.robots = robots
        self.etags = etags  # send ETag/Last-Modified and answer 304 (a caching layer in front)
        self.challenge = False
        self.tagline = "One Vision, One Identity, One Community"
        self.sidebar_note = "Latest News"
        self.footer = "ABOUT ASEAN: The Association of Southeast Asian Nations was established on 8 August 1967."
        self.menu = ["Home", "About ASEAN", "What We Do", "News & Events"]
        self.posts: dict[int, Post] = {}
        self.category_ids = {slug: index + 2 for index, slug in enumerate(CATEGORIES)}
        self.faults: dict[str, int] = {}  # path -> HTTP status to answer instead
        self.hits: list[Hit] = []
        self.lock = threading.RLock()
        self._next_id = 100
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> SimWordPress:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

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
            when = (date_gmt or now).replace(microsecond=0)
            self.posts[post_id] = Post(
                id=post_id,
                slug=self._unique_slug(slug or _slugify(title)),
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
            post.old_slugs.append(post.slug)
            post.slug = slug
            post.modified_gmt = _now()

    def trash_post(self, post_id: int) -> None:
        with self.lock:
            self.posts[post_id].status = "trash"
            self.posts[post_id].modified_gmt = _now()

    def untrash_post(self, post_id: int) -> None:
        with self.lock:
            self.posts[post_id].status = "publish"
            self.posts[post_id].modified_gmt = _now()

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

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz).replace(tzinfo=None)

    def _unique_slug(self, slug: str) -> str:
        taken = {p.slug for p in self.posts.values()}
        if slug not in taken:
            return slug
        number = 2
        while f"{slug}-{number}" in taken:
            number += 1
        return f"{slug}-{number}"

    def rendered_content(self, post: Post) -> str:
        return wpautop(wptexturize(post.content))

    def rendered_title(self, post: Post) -> str:
        return wptexturize(html.escape(post.title, quote=False))

    def feed_footer(self, post: Post) -> str:
        if not self.yoast:
            return ""
        return (
            f'<p>The post <a href="{self.link(post.id)}">{self.rendered_title(post)}</a> '
            f'appeared first on <a href="{self.url}">{SITE_NAME}</a>.</p>\n'
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:190] or "post"


# -- WordPress's text filters, reduced to what matters for a reader ----------------------------


def wptexturize(text: str) -> str:
    """Quotes, apostrophes, dashes and ellipses as WordPress rewrites them (outside tags)."""
    parts = re.split(r"(<[^>]*>)", text)
    out = []
    for part in parts:
        if part.startswith("<"):
            out.append(part)
            continue
        part = part.replace("...", "&#8230;")
        part = re.sub(r"---", "&#8212;", part)
        part = re.sub(r"(?<=\s)--(?=\s)", "&#8212;", part)
        part = re.sub(r"(?<!xn)--", "&#8211;", part)
        part = re.sub(r"(?<=\s)-(?=\s)", "&#8211;", part)
        part = re.sub(r'(^|[\s(\[{<>-])"', r"\1&#8220;", part)
        part = part.replace('"', "&#8221;")
        part = re.sub(r"(\w)'(\w)", r"\1&#8217;\2", part)
        part = re.sub(r"(^|[\s(\[{<>-])'", r"\1&#8216;", part)
        part = part.replace("'", "&#8217;")
        out.append(part)
    return "".join(out)


def wpautop(text: str) -> str:
    """Blank-line separated blocks become paragraphs, single newlines <br />."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    out = []
    for block in blocks:
        if re.match(r"<(p|div|ul|ol|h\d|table|blockquote|figure)\b", block):
            out.append(block + "\n")
        else:
            out.append("<p>" + block.replace("\n", "<br />\n") + "</p>\n")
    return "\n".join(out)


# -- HTTP ------------------------------------------------------------------------------------


def _handler(site: SimWordPress) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            with site.lock:
                status, headers, body = _route(site, parts.path, query, self.headers)
                site.hits.append(Hit("GET", parts.path, query, status, headers))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


Response = tuple[int, dict[str, str], bytes]


def _route(site: SimWordPress, path: str, query: dict[str, list[str]], request: Any) -> Response:
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
    rest_route = query.get("rest_route", [None])[0]
    if path.startswith("/wp-json") or rest_route:
        route = rest_route or path.removeprefix("/wp-json") or "/"
        return _api(site, route, query)
    if path == "/feed/" or (path.startswith("/category/") and path.endswith("/feed/")):
        return _conditional(site, request, _feed(site, path, query))
    if "p" in query and path == "/":
        post = site.posts.get(int(query["p"][0]))
        if post and post.status == "publish":
            return 301, {"Location": site.link(post.id)}, b""
        return _not_found(site)
    match = re.fullmatch(r"/category/([^/]+)/(?:page/(\d+)/)?", path)
    if match:
        return _conditional(site, request, _listing(site, match.group(1), int(match.group(2) or 1)))
    match = re.fullmatch(r"/([^/]+)/", path)
    if match:
        slug = match.group(1)
        for post in site.posts.values():
            if post.slug == slug and post.status == "publish":
                return _conditional(site, request, _article(site, post))
        for post in site.posts.values():
            if slug in post.old_slugs and post.status == "publish":
                return 301, {"Location": site.link(post.id)}, b""
    if path == "/":
        return _conditional(site, request, (200, _html_headers(site), _page(site, "<p>Home</p>")))
    return _not_found(site)


def _conditional(site: SimWordPress, request: Any, response: Response) -> Response:
    status, headers, body = response
    if not site.etags or status != 200:
        return response
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    headers = {**headers, "ETag": etag}
    if request.get("If-None-Match") == etag:
        return 304, {"ETag": etag}, b""
    return status, headers, body


def _html_headers(site: SimWordPress) -> dict[str, str]:
    return {
        "Content-Type": "text/html; charset=UTF-8",
        "Link": f'<{site.url}/wp-json/>; rel="https://api.w.org/"',
    }


def _not_found(site: SimWordPress) -> Response:
    body = _page(site, "<h1 class='page-title'>Page not found</h1>", title="Page not found")
    return 404, _html_headers(site), body


# -- REST API --------------------------------------------------------------------------------


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    # PHP's json_encode escapes slashes and non-ASCII, as WordPress's responses show.
    body = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
    base = {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Robots-Tag": "noindex",
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
        "Access-Control-Allow-Headers": "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type",
        "Allow": "GET",
    }
    return status, {**base, **(headers or {})}, body.encode()


def _error(status: int, code: str, message: str, **data: Any) -> Response:
    return _json(status, {"code": code, "message": message, "data": {"status": status, **data}})


def _api(site: SimWordPress, route: str, query: dict[str, list[str]]) -> Response:
    if site.api == "forbidden":
        return _error(401, "rest_login_required", "REST API restricted to authenticated users.")
    if site.api == "not_found":
        return _not_found(site)
    if site.api == "html":
        return 200, _html_headers(site), _page(site, "<p>Home</p>")
    if site.api == "challenge":
        return 200, {"Content-Type": "text/html; charset=UTF-8"}, CHALLENGE_PAGE
    if site.api == "invalid_json":
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, b'{"id":1,"title":'
    args = {name: values[-1] for name, values in query.items() if name != "rest_route"}
    if route in ("/", ""):
        offset = site.tz.utcoffset(datetime.now()).total_seconds() / 3600
        return _json(
            200,
            {
                "name": SITE_NAME,
                "description": site.tagline,
                "url": site.url,
                "home": site.url,
                "gmt_offset": int(offset) if offset == int(offset) else offset,
                "timezone_string": str(site.tz.key),
                "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1"],
                "authentication": [],
                "routes": {},
            },
        )
    if route == "/wp/v2/categories":
        return _categories(site, args)
    if route == "/wp/v2/posts":
        return _posts(site, args)
    match = re.fullmatch(r"/wp/v2/posts/(\d+)", route)
    if match:
        post = site.posts.get(int(match.group(1)))
        if post is None:
            return _error(404, "rest_post_invalid_id", "Invalid post ID.")
        if post.status != "publish":
            return _error(401, "rest_forbidden", "Sorry, you are not allowed to do that.")
        return _json(200, _fields(_post_json(site, post), args.get("_fields")))
    return _error(404, "rest_no_route", "No route was found matching the URL and request method.")


def _ints(value: str) -> list[int]:
    return [int(v) for v in re.split(r"[,\s]+", value.strip()) if v]


def _paged(
    site: SimWordPress, route: str, args: dict[str, str], items: list[dict[str, Any]]
) -> Response:
    per_page = args.get("per_page", "10")
    page = args.get("page", "1")
    if not per_page.isdigit() or not 1 <= int(per_page) <= 100:
        return _error(
            400,
            "rest_invalid_param",
            "Invalid parameter(s): per_page",
            params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"},
            details={
                "per_page": {
                    "code": "rest_out_of_bounds",
                    "message": "per_page must be between 1 (inclusive) and 100 (inclusive)",
                    "data": None,
                }
            },
        )
    size, number = int(per_page), int(page) if page.isdigit() else 1
    total = len(items)
    pages = -(-total // size)
    if number > max(pages, 1):
        return _error(
            400,
            "rest_post_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
        )
    links = []
    base = f"{site.url}/wp-json{route}"
    if number > 1:
        links.append(f'<{base}?{urlencode({**args, "page": number - 1})}>; rel="prev"')
    if number < pages:
        links.append(f'<{base}?{urlencode({**args, "page": number + 1})}>; rel="next"')
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    if links:
        headers["Link"] = ", ".join(links)
    chunk = items[(number - 1) * size : number * size]
    return _json(200, [_fields(item, args.get("_fields")) for item in chunk], headers)


def _categories(site: SimWordPress, args: dict[str, str]) -> Response:
    wanted = [s for s in re.split(r"[,\s]+", args.get("slug", "")) if s]
    items = []
    for slug, name in CATEGORIES.items():
        if wanted and slug not in wanted:
            continue
        term_id = site.category_ids[slug]
        items.append(
            {
                "id": term_id,
                "count": sum(1 for p in site.published() if slug in p.categories),
                "description": "",
                "link": f"{site.url}/category/{slug}/",
                "name": html.escape(name, quote=False),
                "slug": slug,
                "taxonomy": "category",
                "parent": 0,
                "meta": [],
            }
        )
    return _paged(site, "/wp/v2/categories", args, items)


def _rest_date(value: str, tz: ZoneInfo) -> datetime | None:
    """rest_parse_date: ISO 8601; without an offset it is the site's local time."""
    match = re.fullmatch(
        r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?", value
    )
    if not match:
        return None
    naive = datetime(*(int(match.group(i)) for i in range(1, 7)))
    offset = match.group(8)
    if not offset:
        return naive.replace(tzinfo=tz).astimezone(UTC)
    if offset == "Z":
        return naive.replace(tzinfo=UTC)
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return (naive - sign * delta).replace(tzinfo=UTC)


def _posts(site: SimWordPress, args: dict[str, str]) -> Response:
    posts = site.published()
    for name in ("after", "before", "modified_after", "modified_before"):
        if name in args and _rest_date(args[name], site.tz) is None:
            return _error(
                400,
                "rest_invalid_param",
                f"Invalid parameter(s): {name}",
                params={name: "Invalid date."},
            )
    if "categories" in args:
        ids = set(_ints(args["categories"]))
        wanted = {slug for slug, term in site.category_ids.items() if term in ids}
        posts = [p for p in posts if wanted & set(p.categories)]
    if "include" in args:
        include = set(_ints(args["include"]))
        posts = [p for p in posts if p.id in include]
    if "modified_after" in args:
        since = _rest_date(args["modified_after"], site.tz)
        posts = [p for p in posts if since is not None and p.modified_gmt > since]
    if "after" in args:
        after = _rest_date(args["after"], site.tz)
        posts = [p for p in posts if after is not None and p.date_gmt > after]
    orderby = args.get("orderby", "date")
    keys = {
        "date": lambda p: (p.date_gmt, p.id),
        "modified": lambda p: (p.modified_gmt, p.id),
        "id": lambda p: p.id,
        "title": lambda p: p.title.lower(),
        "slug": lambda p: p.slug,
    }
    if orderby not in keys and orderby != "include":
        return _error(
            400,
            "rest_invalid_param",
            "Invalid parameter(s): orderby",
            params={
                "orderby": "orderby is not one of author, date, id, include, modified, parent, relevance, slug, include_slugs, title."
            },
        )
    if orderby in keys:
        posts.sort(key=keys[orderby], reverse=args.get("order", "desc") == "desc")
    return _paged(site, "/wp/v2/posts", args, [_post_json(site, p) for p in posts])


def _post_json(site: SimWordPress, post: Post) -> dict[str, Any]:
    def iso(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%S")

    content = site.rendered_content(post)
    excerpt = _excerpt(content)
    return {
        "id": post.id,
        "date": iso(site.local(post.date_gmt)),
        "date_gmt": iso(post.date_gmt),
        "guid": {"rendered": f"{site.url}/?p={post.id}"},
        "modified": iso(site.local(post.modified_gmt)),
        "modified_gmt": iso(post.modified_gmt),
        "slug": post.slug,
        "status": post.status,
        "type": "post",
        "link": site.link(post.id),
        "title": {"rendered": site.rendered_title(post)},
        "content": {"rendered": content, "protected": False},
        "excerpt": {"rendered": f"<p>{excerpt}</p>\n", "protected": False},
        "author": 1,
        "featured_media": 0,
        "comment_status": "closed",
        "ping_status": "closed",
        "sticky": False,
        "template": "",
        "format": "standard",
        "meta": [],
        "categories": [site.category_ids[c] for c in post.categories],
        "tags": [],
    }


def _fields(item: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return item
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    out: dict[str, Any] = {}
    for name in wanted:
        top, _, sub = name.partition(".")
        if top not in item:
            continue
        if sub and isinstance(item[top], dict):
            out.setdefault(top, {})[sub] = item[top].get(sub)
        else:
            out[top] = item[top]
    return out


def _excerpt(content_html: str, words: int = 55) -> str:
    text = re.sub(r"<[^>]+>", " ", content_html)
    parts = text.split()
    if len(parts) <= words:
        return " ".join(parts)
    return " ".join(parts[:words]) + " [&hellip;]"


# -- feeds -----------------------------------------------------------------------------------


def _feed(site: SimWordPress, path: str, query: dict[str, list[str]]) -> Response:
    posts = site.published()
    channel_title = SITE_NAME
    channel_link = site.url
    if path.startswith("/category/"):
        slug = path.split("/")[2]
        if slug not in CATEGORIES:
            return _not_found(site)
        posts = [p for p in posts if slug in p.categories]
        channel_title = f"{html.escape(CATEGORIES[slug], quote=False)} Archives - {SITE_NAME}"
        channel_link = f"{site.url}/category/{slug}/"
    posts.sort(key=lambda p: (p.date_gmt, p.id), reverse=True)
    page = int(query.get("paged", ["1"])[0] or 1)
    chunk = posts[(page - 1) * POSTS_PER_PAGE : page * POSTS_PER_PAGE]
    if page > 1 and not chunk:
        return _not_found(site)
    newest = max((p.modified_gmt for p in posts), default=_now())
    items = "".join(_feed_item(site, post) for post in chunk)
    body = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
	>

<channel>
	<title>{channel_title}</title>
	<atom:link href="{site.url}{path}" rel="self" type="application/rss+xml" />
	<link>{channel_link}</link>
	<description>{html.escape(site.tagline, quote=False)}</description>
	<lastBuildDate>{_rfc822(newest)}</lastBuildDate>
	<language>en-US</language>
	<sy:updatePeriod>
	hourly	</sy:updatePeriod>
	<sy:updateFrequency>
	1	</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.1.9</generator>
{items}	</channel>
</rss>
"""
    headers = {
        "Content-Type": "application/rss+xml; charset=UTF-8",
        "Last-Modified": format_datetime(newest, usegmt=True),
    }
    return 200, headers, body.encode()


def _rfc822(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _feed_item(site: SimWordPress, post: Post) -> str:
    content = site.rendered_content(post) + site.feed_footer(post)
    excerpt = _excerpt(content)
    categories = "".join(
        f"\t\t<category><![CDATA[{CATEGORIES[c]}]]></category>\n" for c in post.categories
    )
    return f"""	<item>
		<title>{site.rendered_title(post)}</title>
		<link>{site.link(post.id)}</link>
		<dc:creator><![CDATA[ASEAN Secretariat]]></dc:creator>
		<pubDate>{_rfc822(post.date_gmt)}</pubDate>
{categories}		<guid isPermaLink="false">{site.url}/?p={post.id}</guid>

		<description><![CDATA[{excerpt}]]></description>
		<content:encoded><![CDATA[{content.replace("]]>", "]]&gt;")}]]></content:encoded>
	</item>
"""


# -- pages -----------------------------------------------------------------------------------


def _page(
    site: SimWordPress, main: str, *, title: str = "", body_class: str = "home", head: str = ""
) -> bytes:
    latest = sorted(site.published(), key=lambda p: p.date_gmt, reverse=True)[:5]
    sidebar_items = "".join(
        f'<li><a href="{site.link(p.id)}">{site.rendered_title(p)}</a></li>' for p in latest
    )
    menu = "".join(
        f'<li class="menu-item"><a href="{site.url}/">{html.escape(m)}</a></li>' for m in site.menu
    )
    page_title = f"{title} - {SITE_NAME}" if title else f"{SITE_NAME} - {html.escape(site.tagline)}"
    if site.theme == "asean":
        return f"""<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="UTF-8"><title>{page_title}</title>{head}
<script>var elementorFrontendConfig = {{"version":"3.8.1","urls":{{"assets":"{site.url}/wp-content/plugins/elementor/assets/"}}}};</script>
</head>
<body class="{body_class}">
<header class="elementor elementor-location-header"><div class="elementor-widget-container">
<p class="site-description">{html.escape(site.tagline)}</p>
<nav class="elementor-nav-menu"><ul>{menu}</ul></nav></div></header>
<div class="elementor-section-wrap">
{main}
<aside class="elementor-widget-container latest-news"><h3>{html.escape(site.sidebar_note)}</h3><ul>{sidebar_items}</ul></aside>
</div>
<footer class="elementor elementor-location-footer"><div class="elementor-widget-container"><p>{html.escape(site.footer)}</p></div></footer>
</body>
</html>
""".encode()
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="UTF-8"><title>{page_title}</title>{head}</head>
<body class="{body_class}">
<header id="site-header"><p class="site-title">{SITE_NAME}</p><p class="site-description">{html.escape(site.tagline)}</p>
<nav class="primary-menu-wrapper"><ul>{menu}</ul></nav></header>
<main id="site-content">{main}</main>
<aside class="widget-area"><section class="widget widget_recent_entries"><h2 class="widget-title">{html.escape(site.sidebar_note)}</h2><ul>{sidebar_items}</ul></section></aside>
<footer id="site-footer"><p>{html.escape(site.footer)}</p></footer>
</body>
</html>
""".encode()


def _article(site: SimWordPress, post: Post) -> Response:
    local = site.local(post.date_gmt)
    day_link = f"{site.url}/{local:%Y/%m/%d}/"
    day_text = f"{local.day} {local:%B %Y}"
    content = site.rendered_content(post)
    title = site.rendered_title(post)
    head = (
        f"<link rel='shortlink' href='{site.url}/?p={post.id}' />"
        f'<meta property="article:published_time" content="{post.date_gmt.astimezone(site.tz).isoformat()}" />'
    )
    body_class = f"post-template-default single single-post postid-{post.id} single-format-standard"
    if site.theme == "asean":
        main = f"""<div class="breadcrumb"><a href="{site.url}/">Home</a> <a href="{site.url}/category/news-events/">News &amp; Events</a> <a href="{site.url}/category/news/">News</a></div>
<div class="elementor-element elementor-element-b369dd8 elementor-widget elementor-widget-theme-post-title elementor-page-title elementor-widget-heading">
<div class="elementor-widget-container"><h2 class="elementor-heading-title elementor-size-default">{title}</h2></div></div>
<div class="elementor-element elementor-element-f86aebc elementor-widget elementor-widget-post-info"><div class="elementor-widget-container">
<ul class="elementor-inline-items elementor-icon-list-items elementor-post-info">
<li class="elementor-icon-list-item elementor-repeater-item-ca9fc7d elementor-inline-item" itemprop="datePublished"><a href="{day_link}"><span class="elementor-icon-list-text elementor-post-info__item elementor-post-info__item--type-date">{day_text}</span></a></li>
</ul></div></div>
<div class="elementor-element elementor-widget elementor-widget-theme-post-content"><div class="elementor-widget-container">
{content}</div></div>"""
    else:
        main = f"""<article class="post-{post.id} post type-post status-publish format-standard hentry" id="post-{post.id}">
<header class="entry-header"><h1 class="entry-title">{title}</h1>
<div class="post-meta"><time datetime="{post.date_gmt.astimezone(site.tz).isoformat()}">{day_text}</time></div></header>
<div class="entry-content">
{content}</div>
<div class="sharedaddy"><h3>Share this:</h3><a href="https://twitter.com/share">Twitter</a></div>
</article>"""
    page = _page(site, main, title=title, body_class=body_class, head=head)
    return 200, _html_headers(site), page


def _listing(site: SimWordPress, slug: str, page: int) -> Response:
    if slug not in CATEGORIES:
        return _not_found(site)
    posts = sorted(
        (p for p in site.published() if slug in p.categories),
        key=lambda p: (p.date_gmt, p.id),
        reverse=True,
    )
    pages = max(1, -(-len(posts) // POSTS_PER_PAGE))
    if page > pages:
        return _not_found(site)
    chunk = posts[(page - 1) * POSTS_PER_PAGE : page * POSTS_PER_PAGE]
    if site.theme == "asean":
        items = "".join(
            f'<article class="post type-post status-publish category-{slug}">\n'
            f'<a href="{site.link(p.id)}">{site.rendered_title(p)}</a>\n</article>\n'
            for p in chunk
        )
    else:
        items = "".join(
            f'<article class="post"><h2 class="entry-title"><a href="{site.link(p.id)}">'
            f"{site.rendered_title(p)}</a></h2></article>\n"
            for p in chunk
        )
    nav = ""
    if page < pages:
        next_url = f"{site.url}/category/{slug}/page/{page + 1}/"
        nav = f'<nav class="elementor-pagination"><a class="page-numbers next" href="{next_url}">Next &raquo;</a></nav>'
    main = f'<div class="elementor-widget-container">{items}</div>{nav}'
    body = _page(
        site,
        main,
        title=f"{CATEGORIES[slug]} Archives",
        body_class=f"archive category category-{slug}",
    )
    return 200, _html_headers(site), body
