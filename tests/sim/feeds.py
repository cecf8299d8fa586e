"""The RSS 2.0 feeds (feed-rss2.php): the site's and each category's, with the site-wide
Last-Modified and ETag and the 304s WordPress answers with."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.sim.model import NO_CACHE, POSTS_PER_PAGE, Post, Request, Response, api_link
from tests.sim.wpfilters import convert_chars, ent2ncr, esc_html, strip_tags
from tests.wpsite import SITE_NAME

if TYPE_CHECKING:
    from tests.sim.wordpress import SimWordPress


def feed(site: SimWordPress, slug: str | None, request: Request) -> Response:
    """feed-rss2.php behind WP::send_headers: the validators are the whole site's newest change,
    so any post anywhere changes every feed's ETag; a page past the end is a 404 feed."""
    modified = format_datetime(site.last_modified(), usegmt=True)
    etag = f'"{hashlib.md5(modified.encode()).hexdigest()}"'
    headers = {
        "Last-Modified": modified,
        "ETag": etag,
        "Content-Type": "application/rss+xml; charset=UTF-8",
    }
    posts = site.published()
    links = [api_link(site)]
    title = SITE_NAME
    if slug in site.category_names():
        posts = [p for p in posts if slug in p.categories]
        title = site.document_title(site.category_title(slug))
        json_link = f"{site.url}/wp-json/wp/v2/categories/{site.category_id(slug)}"
        links.append(f'<{json_link}>; rel="alternate"; type="application/json"')
    elif slug is not None:
        posts = []
    posts.sort(key=lambda p: (p.date_gmt, p.id), reverse=True)
    paged = request.arg("paged") or ""
    page = max(int(paged), 1) if paged.isdigit() else 1
    chunk = posts[(page - 1) * POSTS_PER_PAGE : page * POSTS_PER_PAGE]
    status = 200
    if page > 1 and not chunk:
        status, title, links = 404, site.document_title("Page not found"), links[:1]
        headers = {**NO_CACHE, **headers}
    # The 404 is decided before the validators are compared: a matching one still gives 304.
    if _not_modified(request, modified, etag):
        return 304, headers, b""
    newest = max((p.modified_gmt for p in chunk), default=site.last_modified())
    host = urlsplit(site.url).hostname
    description = ent2ncr(convert_chars(strip_tags(site.stored_tagline())))
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
	<title>{title}</title>
	<atom:link href="http://{host}{request.target.replace("&", "&#038;")}" rel="self" type="application/rss+xml" />
	<link>{site.url}</link>
	<description>{description}</description>
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
    # PHP strings are bytes: half a character goes out as the bytes it is
    return status, {**headers, "Link": ", ".join(links)}, body.encode("utf-8", "surrogatepass")


def _not_modified(request: Request, modified: str, etag: str) -> bool:
    """WordPress's test: with both validators both must match; with one, that one. A later
    If-Modified-Since matches too; ETags are compared as plain strings."""
    client_etag = request.headers.get("If-None-Match")
    since = (request.headers.get("If-Modified-Since") or "").strip()
    since_ok = False
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            since_ok = when >= parsedate_to_datetime(modified)
    if since and client_etag is not None:
        return since_ok and client_etag == etag
    return since_ok or client_etag == etag


def _rfc822(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _feed_item(site: SimWordPress, post: Post) -> str:
    content = site.rendered_content(post).replace("]]>", "]]&gt;") + site.feed_footer(post)
    description = ent2ncr(convert_chars(site.excerpt(post))) + site.feed_footer(post)
    title = esc_html(ent2ncr(strip_tags(site.rendered_title(post))))
    link = site.link(post.id)
    encoded = (
        f"\t\t<content:encoded><![CDATA[{content}]]></content:encoded>\n"
        if site.feed_content
        else ""
    )
    categories = "".join(
        f"\t\t<category><![CDATA[{site.category_names()[c]}]]></category>\n"
        for c in post.categories
    )
    return f"""	<item>
		<title>{title}</title>
		<link>{link}</link>
		<comments>{link}#respond</comments>

		<dc:creator><![CDATA[ASEAN Secretariat]]></dc:creator>
		<pubDate>{_rfc822(post.date_gmt)}</pubDate>
{categories}		<guid isPermaLink="false">{site.url}/?p={post.id}</guid>

		<description><![CDATA[{description}]]></description>
{encoded}
		<wfw:commentRss>{link}feed/</wfw:commentRss>
		<slash:comments>0</slash:comments>
	</item>
"""
