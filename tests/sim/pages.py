"""The HTML pages: asean.org's Elementor theme or a classic theme (Twenty Twenty-One's markup)
around an article, a category listing, the home page or a 404."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

from tests.sim.model import NO_CACHE, POSTS_PER_PAGE, Post, Response, api_link
from tests.sim.wpfilters import esc_html, strip_tags
from tests.wpsite import SITE_NAME

if TYPE_CHECKING:
    from tests.sim.wordpress import SimWordPress


def html_headers(site: SimWordPress, *links: str) -> dict[str, str]:
    return {
        "Content-Type": "text/html; charset=UTF-8",
        "Link": ", ".join([api_link(site), *links]),
    }


def not_found(site: SimWordPress) -> Response:
    body = render_page(
        site,
        "<h1 class='page-title'>Page not found</h1>",
        title=site.document_title("Page not found"),
        body_class="error404",
    )
    return 404, {**NO_CACHE, **html_headers(site)}, body


def render_page(
    site: SimWordPress, main: str, *, title: str, body_class: str = "home", head: str = ""
) -> bytes:
    latest = sorted(site.published(), key=lambda p: p.date_gmt, reverse=True)[:5]
    sidebar_items = "".join(
        f'<li><a href="{site.link(p.id)}">{site.rendered_title(p)}</a></li>' for p in latest
    )
    menu = "".join(
        f'<li class="menu-item"><a href="{site.url}/">{html.escape(m)}</a></li>' for m in site.menu
    )
    tagline = site.stored_tagline()
    if site.theme == "asean":
        return f"""<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="UTF-8"><title>{title}</title>{head}
<script>var elementorFrontendConfig = {{"version":"3.8.1","urls":{{"assets":"{site.url}/wp-content/plugins/elementor/assets/"}}}};</script>
</head>
<body class="{body_class}">
<header class="elementor elementor-location-header"><div class="elementor-widget-container">
<p class="site-description">{tagline}</p>
<nav class="elementor-nav-menu"><ul>{menu}</ul></nav></div></header>
<div class="elementor-section-wrap">
{main}
<aside class="elementor-widget-container latest-news"><h3>{html.escape(site.sidebar_note)}</h3><ul>{sidebar_items}</ul></aside>
</div>
<footer class="elementor elementor-location-footer"><div class="elementor-widget-container"><p>{html.escape(site.footer)}</p></div></footer>
</body>
</html>
""".encode()
    return f"""<!doctype html>
<html lang="en-US" >
<head>
	<meta charset="UTF-8" />
	<title>{title}</title>{head}
</head>
<body class="{body_class} wp-embed-responsive is-light-theme no-js">
<div id="page" class="site">
<header id="masthead" class="site-header has-title-and-tagline">
<div class="site-branding"><p class="site-title"><a href="{site.url}/">{SITE_NAME}</a></p><p class="site-description">{tagline}</p></div>
<nav id="site-navigation" class="primary-navigation"><ul id="primary-menu-list" class="menu-wrapper">{menu}</ul></nav>
</header>
<div id="content" class="site-content"><div id="primary" class="content-area"><main id="main" class="site-main">
{main}
</main></div></div>
<aside class="widget-area"><section class="widget widget_block"><h2>{html.escape(site.sidebar_note)}</h2><ul class="wp-block-latest-posts__list wp-block-latest-posts">{sidebar_items}</ul></section></aside>
<footer id="colophon" class="site-footer"><div class="site-info"><p>{html.escape(site.footer)}</p></div></footer>
</div>
</body>
</html>
""".encode()


def article(site: SimWordPress, post: Post) -> Response:
    local = site.local(post.date_gmt)
    published = post.date_gmt.astimezone(site.tz).isoformat()
    day_link = f"{site.url}/{local:%Y/%m/%d}/"
    day_text = f"{local.day} {local:%B %Y}"
    content = site.rendered_content(post)
    title = site.rendered_title(post)
    shortlink = f"{site.url}/?p={post.id}"
    head = (
        f"<link rel='shortlink' href='{shortlink}' />"
        f'<meta property="article:published_time" content="{published}" />'
    )
    body_class = f"post-template-default single single-post postid-{post.id} single-format-standard"
    if not site.post_ids_on_pages:
        head = f'<meta property="article:published_time" content="{published}" />'
        body_class = "post-template-default single single-post single-format-standard"
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
        category_classes = " ".join(f"category-{c}" for c in post.categories)
        category_links = ", ".join(
            f'<a href="{site.url}/category/{c}/" rel="category tag">{esc_html(site.category_names()[c])}</a>'
            for c in post.categories
        )
        main = f"""<article id="post-{post.id}" class="post-{post.id} post type-post status-publish format-standard hentry {category_classes} entry">
<header class="entry-header alignwide"><h1 class="entry-title">{title}</h1></header>
<div class="entry-content">
{content}</div>
<div class="sharedaddy"><h3>Share this:</h3><a href="https://twitter.com/share">Twitter</a></div>
<footer class="entry-footer default-max-width"><div class="posted-by"><span class="posted-on">Published <time class="entry-date published updated" datetime="{published}">{local:%B} {local.day}, {local.year}</time></span></div><div class="post-taxonomies"><span class="cat-links">Categorized as {category_links} </span></div></footer>
</article>"""
    document_title = site.document_title(esc_html(strip_tags(title)))
    page = render_page(site, main, title=document_title, body_class=body_class, head=head)
    links = (
        f'<{site.url}/wp-json/wp/v2/posts/{post.id}>; rel="alternate"; type="application/json"',
        f"<{shortlink}>; rel=shortlink",
    )
    return 200, html_headers(site, *links), page


def listing(site: SimWordPress, slug: str, page: int) -> Response:
    if slug not in site.category_names():
        return not_found(site)
    posts = sorted(
        (p for p in site.published() if slug in p.categories),
        key=lambda p: (p.date_gmt, p.id),
        reverse=True,
    )
    pages = max(1, math.ceil(len(posts) / POSTS_PER_PAGE))
    if page > pages:
        return not_found(site)
    chunk = posts[(page - 1) * POSTS_PER_PAGE : page * POSTS_PER_PAGE]
    next_url = f"{site.url}/category/{slug}/page/{page + 1}/"
    if site.theme == "asean":
        items = "".join(
            f'<article class="post type-post status-publish category-{slug}">\n'
            f'<a href="{site.link(p.id)}">{site.rendered_title(p)}</a>\n</article>\n'
            for p in chunk
        )
        nav = ""
        if page < pages:
            nav = f'<nav class="elementor-pagination"><a class="page-numbers next" href="{next_url}">Next &raquo;</a></nav>'
        main = f'<div class="elementor-widget-container">{items}</div>{nav}'
    else:
        items = "".join(
            f'<article id="post-{p.id}" class="post-{p.id} post type-post status-publish entry">'
            f'<header class="entry-header"><h2 class="entry-title default-max-width"><a href="{site.link(p.id)}">'
            f"{site.rendered_title(p)}</a></h2></header></article>\n"
            for p in chunk
        )
        nav = ""
        if page < pages:
            nav = f'<nav class="navigation pagination"><div class="nav-links"><a class="next page-numbers" href="{next_url}">Older posts</a></div></nav>'
        name = esc_html(site.category_names()[slug])
        main = f'<header class="page-header alignwide"><h1 class="page-title">{name}</h1></header>\n{items}{nav}'
    parts = [site.category_title(slug)]
    if page > 1:
        parts.append(f"Page {page} of {pages}" if site.yoast else f"Page {page}")
    body = render_page(
        site,
        main,
        title=site.document_title(*parts),
        body_class=f"archive category category-{slug}",
    )
    json_link = f"{site.url}/wp-json/wp/v2/categories/{site.category_id(slug)}"
    return (
        200,
        html_headers(site, f'<{json_link}>; rel="alternate"; type="application/json"'),
        body,
    )
