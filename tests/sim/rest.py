"""The REST API (`/wp-json/wp/v2/...`): Handbook field names, parameters, headers, paging links
and error bodies, and the ways a site can refuse it (its `api` mode, one of `API_MODES`)."""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote_plus

from tests.sim.model import CHALLENGE_PAGE, Post, Request, Response, api_link
from tests.sim.pages import html_headers, not_found, render_page
from tests.sim.restparams import (
    INTEGERS,
    POST_ARRAYS,
    POST_CHECKS,
    TERM_ARRAYS,
    TERM_CHECKS,
    Args,
    Check,
    integer,
    rest_date,
)
from tests.sim.wpfilters import convert_chars, esc_html, sanitize_title, wpautop, wptexturize
from tests.wpsite import SITE_NAME

if TYPE_CHECKING:
    from tests.sim.wordpress import SimWordPress

T = TypeVar("T")


def _json(
    site: SimWordPress, status: int, data: Any, headers: dict[str, str] | None = None
) -> Response:
    # PHP's json_encode escapes slashes and non-ASCII, as WordPress's responses show.
    body = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
    base = {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Robots-Tag": "noindex",
        "Link": api_link(site),
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
        "Access-Control-Allow-Headers": "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type",
        "Allow": "GET",
        "Vary": "Origin",
    }
    return status, {**base, **(headers or {})}, body.encode()


def _error(site: SimWordPress, status: int, code: str, message: str, **data: Any) -> Response:
    body = {"code": code, "message": message, "data": {"status": status, **data}}
    return _json(site, status, body)


def _invalid(site: SimWordPress, args: Args, checks: dict[str, Check]) -> Response | None:
    # Checked while the query is read, so problems come in the order of the query.
    problems = {
        name: problem
        for name in args.order
        if name in checks and (problem := checks[name](args)) is not None
    }
    if not problems:
        return None
    return _error(
        site,
        400,
        "rest_invalid_param",
        f"Invalid parameter(s): {', '.join(problems)}",
        params={name: p.message for name, p in problems.items()},
        details={
            name: {"code": p.code, "message": p.message, "data": p.data}
            for name, p in problems.items()
        },
    )


def api(site: SimWordPress, route: str, request: Request) -> Response:
    if site.api == "forbidden":
        return _error(
            site, 401, "rest_login_required", "REST API restricted to authenticated users."
        )
    if site.api == "not_found":
        return not_found(site)
    if site.api == "html":
        return 200, html_headers(site), render_page(site, "<p>Home</p>", title=site.home_title())
    if site.api == "challenge":
        return 200, {"Content-Type": "text/html; charset=UTF-8"}, CHALLENGE_PAGE
    if site.api == "invalid_json":
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, b'{"id":1,"title":'
    args = Args.parse(request.pairs)
    fields = args.text("_fields")
    if route == "/":
        return _json(site, 200, _fields(_index(site), fields))
    if route == "/wp/v2":
        return _json(site, 200, {"namespace": "wp/v2", "routes": {}})
    if route == "/wp/v2/categories":
        return _categories(site, args)
    if route == "/wp/v2/posts":
        return _posts(site, args)
    match = re.fullmatch(r"/wp/v2/categories/(\d+)", route)
    if match:
        slugs = [s for s in site.category_names() if site.category_id(s) == int(match.group(1))]
        if not slugs:
            return _error(site, 404, "rest_term_invalid", "Term does not exist.")
        return _json(site, 200, _fields(_category_json(site, slugs[0]), fields))
    match = re.fullmatch(r"/wp/v2/posts/(\d+)", route)
    if match:
        post = site.posts.get(int(match.group(1)))
        if post is None:
            return _error(site, 404, "rest_post_invalid_id", "Invalid post ID.")
        if post.status != "publish":
            return _error(site, 401, "rest_forbidden", "Sorry, you are not allowed to do that.")
        alternate = f'<{site.link(post.id)}>; rel="alternate"; type=text/html'
        return _json(site, 200, _fields(_post_json(site, post), fields), {"Link": alternate})
    message = "No route was found matching the URL and request method."
    return _error(site, 404, "rest_no_route", message)


def _index(site: SimWordPress) -> dict[str, Any]:
    offset = (site.tz.utcoffset(datetime.now()) or timedelta()).total_seconds() / 3600
    return {
        "name": SITE_NAME,
        "description": site.stored_tagline(),
        "url": site.url,
        "home": site.url,
        "gmt_offset": int(offset) if offset == int(offset) else offset,
        "timezone_string": str(site.tz.key),
        "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1", "wp-block-editor/v1"],
        "authentication": [],
        "routes": {},
        "site_logo": 0,
        "site_icon": 0,
        "site_icon_url": "",
        "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]},
    }


def _page_link(site: SimWordPress, route: str, args: Args, arrays: set[str], page: int) -> str:
    """The collection's URL for another page, as WordPress builds it: the query as it was
    read (array parameters as name[0]=...), with page replaced or added at the end."""
    pairs: list[tuple[str, str]] = []
    order = args.order if "page" in args.order else [*args.order, "page"]
    for name in order:
        if name == "page":
            pairs.append(("page", str(page)))
        elif name in arrays:
            values = args.items(name)
            pairs += [(f"{name}[{i}]", _sanitized(v)) for i, v in enumerate(values)]
        elif name in INTEGERS and isinstance(args.values[name], str):
            pairs.append((name, _sanitized(str(args.values[name]))))
        else:
            value = args.values[name]
            pairs.append((name, value if isinstance(value, str) else ",".join(value)))
    query = "&".join(f"{_urlencode(k)}={_urlencode(v)}" for k, v in pairs)
    return f"{site.url}/wp-json{route}?{query}"


def _sanitized(value: str) -> str:
    number = integer(value)
    return value if number is None else str(number)


def _urlencode(text: str) -> str:
    return quote_plus(text, safe="").replace("~", "%7E")  # as PHP's urlencode


def _paged(
    site: SimWordPress,
    route: str,
    args: Args,
    arrays: set[str],
    items: Sequence[T],
    render: Callable[[T], dict[str, Any]],
    *,
    refuse_past_end: bool,
) -> Response:
    size = integer(args.text("per_page") or "10") or 10
    number = integer(args.text("page") or "1") or 1
    offset = integer(args.text("offset") or "0") or 0
    total = len(items)
    pages = math.ceil(total / size)
    # Past the end is an error, except when nothing matches: then every page is empty.
    if refuse_past_end and number > pages and total > 0:
        message = "The page number requested is larger than the number of pages available."
        return _error(site, 400, "rest_post_invalid_page_number", message)
    links = []
    if number > 1:
        previous = _page_link(site, route, args, arrays, min(number - 1, pages))
        links.append(f'<{previous}>; rel="prev"')
    if pages > number:
        links.append(f'<{_page_link(site, route, args, arrays, number + 1)}>; rel="next"')
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    if links:
        headers["Link"] = ", ".join(links)
    # An offset replaces the page: WordPress skips that many and ignores page.
    start = offset if "offset" in args.values else (number - 1) * size
    chunk = items[start : start + size]
    fields = args.text("_fields")
    return _json(site, 200, [_fields(render(item), fields) for item in chunk], headers)


def _category_json(site: SimWordPress, slug: str) -> dict[str, Any]:
    term_id = site.category_id(slug)
    api = f"{site.url}/wp-json/wp/v2"
    return {
        "id": term_id,
        "count": sum(1 for p in site.published() if slug in p.categories),
        "description": "",
        "link": f"{site.url}/category/{slug}/",
        "name": esc_html(site.category_names()[slug]),
        "slug": slug,
        "taxonomy": "category",
        "parent": 0,
        "meta": [],
        "_links": {
            "self": [{"href": f"{api}/categories/{term_id}"}],
            "collection": [{"href": f"{api}/categories"}],
            "about": [{"href": f"{api}/taxonomies/category"}],
            "wp:post_type": [{"href": f"{api}/posts?categories={term_id}"}],
            "curies": [{"name": "wp", "href": "https://api.w.org/{rel}", "templated": True}],
        },
    }


def _categories(site: SimWordPress, args: Args) -> Response:
    invalid = _invalid(site, args, TERM_CHECKS)
    if invalid:
        return invalid
    items = [_category_json(site, slug) for slug in site.category_names()]
    wanted = [sanitize_title(s) for s in args.items("slug")]
    if wanted:
        items = [c for c in items if c["slug"] in wanted]
    include = [integer(v) for v in args.items("include")]
    if include:
        items = [c for c in items if c["id"] in include]
    exclude = [integer(v) for v in args.items("exclude")]
    items = [c for c in items if c["id"] not in exclude]
    if (args.text("hide_empty") or "").lower() in ("1", "true"):
        items = [c for c in items if c["count"] > 0]
    post = args.text("post")
    if post is not None:
        found = site.posts.get(integer(post) or 0)
        ids = {site.category_id(c) for c in found.categories} if found else set()
        items = [c for c in items if c["id"] in ids]
    orderby = args.text("orderby") or "name"
    keys: dict[str, Callable[[dict[str, Any]], Any]] = {
        "id": lambda c: c["id"],
        "slug": lambda c: c["slug"],
        "count": lambda c: c["count"],
        "include": lambda c: include.index(c["id"]) if c["id"] in include else 0,
    }
    items.sort(key=keys.get(orderby, lambda c: html.unescape(c["name"]).lower()))
    if args.text("order") == "desc":
        items.reverse()
    return _paged(site, "/wp/v2/categories", args, TERM_ARRAYS, items, dict, refuse_past_end=False)


def _posts(site: SimWordPress, args: Args) -> Response:
    invalid = _invalid(site, args, POST_CHECKS)
    if invalid:
        return invalid
    posts = site.published()
    by_id = {site.category_id(slug): slug for slug in site.category_names()}
    if args.items("categories"):
        wanted = {by_id.get(integer(v) or 0) for v in args.items("categories")}
        posts = [p for p in posts if wanted & set(p.categories)]
    if args.items("categories_exclude"):
        unwanted = {by_id.get(integer(v) or 0) for v in args.items("categories_exclude")}
        posts = [p for p in posts if not unwanted & set(p.categories)]
    include = [integer(v) for v in args.items("include")]
    if include:
        posts = [p for p in posts if p.id in include]
    exclude = {integer(v) for v in args.items("exclude")}
    posts = [p for p in posts if p.id not in exclude]
    slugs = [sanitize_title(s) for s in args.items("slug")]
    if slugs:
        posts = [p for p in posts if p.slug in slugs]
    search = (args.text("search") or "").lower()
    if search:
        posts = [p for p in posts if search in p.title.lower() or search in p.content.lower()]
    for name, stamp, later in (
        ("after", "date_gmt", True),
        ("before", "date_gmt", False),
        ("modified_after", "modified_gmt", True),
        ("modified_before", "modified_gmt", False),
    ):
        value = args.text(name)
        if value is None:
            continue
        bound = rest_date(value, site.tz)
        assert bound is not None  # checked above
        # Both bounds are strict, to the second, and compared as WordPress's date_query does:
        # on the site-time columns (post_date, post_modified), the bound turned into site time.
        # Around a fall-back to winter time an hour of site times happens twice.
        local_bound = site.local(bound)
        if later:
            posts = [p for p in posts if site.local(getattr(p, stamp)) > local_bound]
        else:
            posts = [p for p in posts if site.local(getattr(p, stamp)) < local_bound]
    orderby = args.text("orderby") or "date"
    keys: dict[str, Callable[[Post], Any]] = {
        "date": lambda p: (site.local(p.date_gmt), p.id),  # site time, as the columns are
        "modified": lambda p: (site.local(p.modified_gmt), p.id),
        "id": lambda p: p.id,
        "title": lambda p: (p.title.lower(), p.id),
        "slug": lambda p: (p.slug, p.id),
        "include": lambda p: include.index(p.id) if p.id in include else 0,
    }
    posts.sort(key=keys.get(orderby, keys["date"]))
    if (args.text("order") or "desc") == "desc" and orderby != "include":
        posts.reverse()

    # Only the page asked for is rendered: a sweep lists every post, 100 at a time.
    def render(post: Post) -> dict[str, Any]:
        return _post_json(site, post)

    return _paged(site, "/wp/v2/posts", args, POST_ARRAYS, posts, render, refuse_past_end=True)


def _post_json(site: SimWordPress, post: Post) -> dict[str, Any]:
    def iso(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%S")

    api = f"{site.url}/wp-json/wp/v2"
    excerpt = wpautop(convert_chars(wptexturize(site.excerpt(post))))
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
        "content": {"rendered": site.rendered_content(post), "protected": False},
        "excerpt": {"rendered": excerpt, "protected": False},
        "author": 1,
        "featured_media": 0,
        "comment_status": "open",
        "ping_status": "closed",
        "sticky": False,
        "template": "",
        "format": "standard",
        "meta": [],
        "categories": [site.category_id(c) for c in post.categories],
        "tags": [],
        "_links": {
            "self": [{"href": f"{api}/posts/{post.id}"}],
            "collection": [{"href": f"{api}/posts"}],
            "about": [{"href": f"{api}/types/post"}],
            "author": [{"embeddable": True, "href": f"{api}/users/1"}],
            "replies": [{"embeddable": True, "href": f"{api}/comments?post={post.id}"}],
            "wp:attachment": [{"href": f"{api}/media?parent={post.id}"}],
            "wp:term": [
                {
                    "taxonomy": "category",
                    "embeddable": True,
                    "href": f"{api}/categories?post={post.id}",
                },
                {"taxonomy": "post_tag", "embeddable": True, "href": f"{api}/tags?post={post.id}"},
            ],
            "curies": [{"name": "wp", "href": "https://api.w.org/{rel}", "templated": True}],
        },
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
            if sub in item[top]:
                out.setdefault(top, {})[sub] = item[top][sub]
        else:
            out[top] = item[top]
    return out
