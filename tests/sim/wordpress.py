"""A simulated WordPress site on 127.0.0.1 that tests can mutate.

Shaped like WordPress 6.1 with asean.org's setup (see ../shared/asean/SITE.md): the REST API
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
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from html.entities import name2codepoint
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, parse_qsl, quote, quote_plus, urlsplit
from zoneinfo import ZoneInfo

from tests.wpsite import CATEGORIES, SITE_NAME, SITE_TIMEZONE

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHALLENGE_PAGE = (FIXTURES / "challenge-sucuri.html").read_bytes()
POSTS_PER_PAGE = 10  # WordPress's default for listings and feeds

API_MODES = ("on", "forbidden", "not_found", "html", "challenge", "invalid_json")
THEMES = ("asean", "classic")

# Every install has term 1; the site's own categories follow it, as on the real test site.
UNCATEGORIZED = ("uncategorized", "Uncategorized")

Response = tuple[int, dict[str, str], bytes]
T = TypeVar("T")


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
        self.waiting: list[str] = []  # delayed requests, as they arrive
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


# -- WordPress's text filters ----------------------------------------------------------------
#
# What the_title, the_content, the excerpt and the feed templates do to text, with WordPress's
# rules and in its order (shortcodes, smilies and blocks left out: the tests write plain text).

_SP = r"[\r\n\t \xa0]|&nbsp;"  # wp_spaces_regexp()
_AFTER_SP = r"(?:(?<=[\r\n\t \xa0])|(?<=&nbsp;))"  # one lookbehind per width
_NOT_AFTER_SP = r"(?<![\r\n\t \xa0])(?<!&nbsp;)"
_CLOSER = rf"(?=\Z|[.,:;!?)}}\-\]]|&gt;|{_SP})"
_APOS, _OPEN_SQ, _OPEN_Q = "<!--apos-->", "<!--osq-->", "<!--oq-->"
_COCKNEY = [
    "'tain't",
    "'twere",
    "'twas",
    "'tis",
    "'twill",
    "'til",
    "'bout",
    "'nuff",
    "'round",
    "'cause",
    "'em",
]
_STATIC = [
    ("...", "&#8230;"),
    ("``", "&#8220;"),
    ("''", "&#8221;"),
    (" (tm)", " &#8482;"),
    *((word, word.replace("'", "&#8217;")) for word in _COCKNEY),
]
_APOS_RULES = [
    (re.compile(rf"'(\d\d)'{_CLOSER}"), rf"{_APOS}\1&#8217;"),
    (re.compile(rf"'(\d\d)\"{_CLOSER}"), rf"{_APOS}\1&#8221;"),
    (re.compile(r"'(?=\d\d(?:\Z|(?![%\d]|[.,]\d)))"), _APOS),
    (re.compile(rf"(?:\A|{_AFTER_SP})'(\d[.,\d]*)'"), rf"{_OPEN_SQ}\1&#8217;"),
    (re.compile(rf"(?:\A|(?<=[(\[{{\"\-])|(?<=&lt;)|{_AFTER_SP})'"), _OPEN_SQ),
    (re.compile(rf"{_NOT_AFTER_SP}'(?!\Z|[.,:;!?\"'(){{}}\[\]\-]|&[lg]t;|{_SP})"), _APOS),
]
_QUOTE_RULES = [
    (re.compile(rf"(?:\A|{_AFTER_SP})\"(\d[.,\d]*)\""), rf"{_OPEN_Q}\1&#8221;"),
    (re.compile(rf"(?:\A|(?<=[(\[{{\-])|(?<=&lt;)|{_AFTER_SP})\"(?!{_SP})"), _OPEN_Q),
]
_DASH_RULES = [
    (re.compile(r"---"), "&#8212;"),
    (re.compile(rf"(?:\A|{_AFTER_SP})--(?=$|{_SP})"), "&#8212;"),
    (re.compile(r"(?<!xn)--"), "&#8211;"),
    (re.compile(rf"(?:\A|{_AFTER_SP})-(?=$|{_SP})"), "&#8211;"),
]
_LONE_AMPERSAND = re.compile(r"&(?!#(?:\d+|x[a-f0-9]+);|[a-z1-4]{1,8};)", re.IGNORECASE)
_TEXTURIZE_SPLIT = re.compile(r"(<!--.*?(?:-->|\Z)|<[^>]*>?)", re.DOTALL)
_NO_TEXTURIZE = {"pre", "code", "kbd", "style", "script", "tt"}


@lru_cache(maxsize=4096)
def wptexturize(text: str) -> str:
    """Curly quotes, apostrophes, primes, dashes, ellipses, x and & -> &#038;, outside tags and
    outside <pre>, <code>, <kbd>, <style>, <script> and <tt>."""
    if not text:
        return text
    stack: list[str] = []
    out: list[str] = []
    for part in _TEXTURIZE_SPLIT.split(text):
        if not part:
            continue
        if part.startswith("<!--"):
            out.append(part)
        elif part.startswith("<"):
            out.append(_LONE_AMPERSAND.sub("&#038;", part))
            _push_pop(part, stack)
        elif not part.strip(" \t\n\r\0\x0b") or stack:
            out.append(part)
        else:
            out.append(_texturize_text(part))
    return "".join(out)


def _push_pop(tag: str, stack: list[str]) -> None:
    closing = tag[1:2] == "/"
    if closing and not stack:
        return
    start = 2 if closing else 1
    name = tag[start : tag.index(" ")] if " " in tag else tag[start:-1]
    if name not in _NO_TEXTURIZE:
        return
    if not closing:
        stack.append(name)
    elif stack[-1] == name:
        stack.pop()


def _texturize_text(text: str) -> str:
    for typed, shown in _STATIC:
        text = text.replace(typed, shown)
    if "'" in text:
        for pattern, replacement in _APOS_RULES:
            text = pattern.sub(replacement, text)
        text = _primes(text, "'", "&#8242;", _OPEN_SQ, "&#8217;")
        text = text.replace(_APOS, "&#8217;").replace(_OPEN_SQ, "&#8216;")
    if '"' in text:
        for pattern, replacement in _QUOTE_RULES:
            text = pattern.sub(replacement, text)
        text = _primes(text, '"', "&#8243;", _OPEN_Q, "&#8221;")
        text = text.replace(_OPEN_Q, "&#8220;")
    if "-" in text:
        for pattern, replacement in _DASH_RULES:
            text = pattern.sub(replacement, text)
    if re.search(r"(?<=\d)x\d", text):  # 9x9, but never 0x9999
        text = re.sub(r"\b(0[\d.,]+|[1-9][\d.,]*)x(\d[\d.,]*)\b", r"\1&#215;\2", text)
    return _LONE_AMPERSAND.sub("&#038;", text)


def _primes(text: str, needle: str, prime: str, open_quote: str, close_quote: str) -> str:
    """wptexturize_primes: after a digit a quote is a prime (9' 9"), unless it closes a quote
    opened earlier in the sentence."""
    flag = "<!--wp-prime-or-quote-->"
    quote_pattern = re.compile(re.escape(needle) + _CLOSER)
    prime_pattern = re.compile(rf"(?<=\d){re.escape(needle)}")
    sentences = text.split(open_quote)
    for index, sentence in enumerate(sentences):
        if needle not in sentence:
            continue
        if index != 0 and close_quote not in sentence:
            sentence, count = quote_pattern.subn(flag, sentence)
            if count > 1:
                sentence, replaced = re.subn(rf"(?<!\d){re.escape(flag)}", close_quote, sentence)
                if replaced == 0:
                    at = sentence.rfind(f"{flag}.")
                    at = at if at >= 0 else sentence.rfind(flag)
                    sentence = sentence[:at] + close_quote + sentence[at + len(flag) :]
                sentence = prime_pattern.sub(prime, sentence)
                sentence = re.sub(rf"(?<=\d){re.escape(flag)}", prime, sentence)
                sentence = sentence.replace(flag, close_quote)
            elif count == 1:
                sentence = prime_pattern.sub(prime, sentence.replace(flag, close_quote))
            else:
                sentence = prime_pattern.sub(prime, sentence)
        else:
            sentence = quote_pattern.sub(close_quote, prime_pattern.sub(prime, sentence))
        if needle == '"':
            sentence = sentence.replace('"', close_quote)
        sentences[index] = sentence
    return open_quote.join(sentences)


_BLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre|form"
    r"|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section|article"
    r"|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)
_HTML_SPLIT = re.compile(r"(<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<[^>]*>?)", re.DOTALL)


@lru_cache(maxsize=4096)
def wpautop(text: str) -> str:
    """Blank-line separated blocks become paragraphs, other newlines <br />; block elements
    stay unwrapped and <pre> is left alone."""
    if not text.strip():
        return ""
    text += "\n"
    pre_tags: dict[str, str] = {}
    if "<pre" in text:
        *parts, last = text.split("</pre>")
        text = ""
        for number, part in enumerate(parts):
            start = part.find("<pre")
            if start < 0:
                text += part
                continue
            name = f"<pre wp-pre-tag-{number}></pre>"
            pre_tags[name] = part[start:] + "</pre>"
            text += part[:start] + name
        text += last
    text = re.sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", text)
    text = re.sub(rf"(<{_BLOCKS}[\s/>])", r"\n\n\1", text)
    text = re.sub(rf"(</{_BLOCKS}>)", r"\1\n\n", text)
    text = re.sub(r"(<hr\s*?/?>)", r"\1\n\n", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    pieces = _HTML_SPLIT.split(text)
    for index in range(1, len(pieces), 2):
        pieces[index] = pieces[index].replace("\n", " <!-- wpnl --> ")
    text = "".join(pieces)
    if "<figcaption" in text:
        text = re.sub(r"\s*(<figcaption[^>]*>)", r"\1", text)
        text = re.sub(r"</figcaption>\s*", "</figcaption>", text)
    text = re.sub(r"\n\n+", "\n\n", text)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p]
    text = "".join(f"<p>{p.strip(chr(10))}</p>\n" for p in paragraphs)
    text = re.sub(r"<p>\s*</p>", "", text)
    text = re.sub(r"<p>([^<]+)</(div|address|form)>", r"<p>\1</p></\2>", text)
    text = re.sub(rf"<p>\s*(</?{_BLOCKS}[^>]*>)\s*</p>", r"\1", text)
    text = re.sub(r"<p>(<li.+?)</p>", r"\1", text)
    text = re.sub(r"<p><blockquote([^>]*)>", r"<blockquote\1><p>", text, flags=re.IGNORECASE)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = re.sub(rf"<p>\s*(</?{_BLOCKS}[^>]*>)", r"\1", text)
    text = re.sub(rf"(</?{_BLOCKS}[^>]*>)\s*</p>", r"\1", text)
    text = re.sub(
        r"<(script|style|svg).*?</\1>",
        lambda m: m.group(0).replace("\n", "<WPPreserveNewline />"),
        text,
        flags=re.DOTALL,
    )
    text = text.replace("<br>", "<br />").replace("<br/>", "<br />")
    text = re.sub(r"(?<!<br />)\s*\n", "<br />\n", text)
    text = text.replace("<WPPreserveNewline />", "\n")
    text = re.sub(rf"(</?{_BLOCKS}[^>]*>)\s*<br />", r"\1", text)
    text = re.sub(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", r"\1", text)
    text = re.sub(r"\n</p>$", "</p>", text)
    for name, original in pre_tags.items():
        text = text.replace(name, original)
    return text.replace(" <!-- wpnl --> ", "\n").replace("<!-- wpnl -->", "\n")


def convert_chars(text: str) -> str:
    return re.sub(r"&([^#])(?![a-z1-4]{1,8};)", r"&#038;\1", text, flags=re.IGNORECASE)


def ent2ncr(text: str) -> str:
    """Named entities as numeric ones, which XML knows without a DTD."""

    def numeric(match: re.Match[str]) -> str:
        code = name2codepoint.get(match.group(1))
        return f"&#{code};" if code else match.group(0)

    return re.sub(r"&([a-zA-Z][a-zA-Z0-9]*);", numeric, text)


_NAMED = "|".join(sorted(name2codepoint, key=len, reverse=True))
_STRAY_AMPERSAND = re.compile(rf"&(?!#\d+;|#x[0-9a-fA-F]+;|(?:{_NAMED});)")


def esc_html(text: str) -> str:
    """esc_html: <, >, quotes and stray & escaped; entities already there are kept."""
    text = re.sub(r"&#0*(\d+);", lambda m: f"&#{int(m.group(1)):03d};", text)
    text = _STRAY_AMPERSAND.sub("&amp;", text)
    for char, entity in (("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#039;")):
        text = text.replace(char, entity)
    return text


def strip_tags(text: str) -> str:
    """PHP's strip_tags: a "<" followed by whitespace is text, anything else opens a tag."""
    return re.sub(r"<(?!\s)[^>]*(?:>|\Z)", "", text)


def wp_strip_all_tags(text: str) -> str:
    text = re.sub(r"<(script|style)[^>]*?>.*?</\1>", "", text, flags=re.DOTALL | re.IGNORECASE)
    return strip_tags(text).strip(" \t\n\r\0\x0b")


def wp_trim_words(text: str, words: int, more: str) -> str:
    found = [w for w in re.split(r"[\n\r\t ]+", wp_strip_all_tags(text)) if w]
    if len(found) > words:
        return " ".join(found[:words]) + more
    return " ".join(found)


@lru_cache(maxsize=4096)
def the_content(raw: str) -> str:
    html_text = wpautop(wptexturize(raw))
    # wp_filter_content_tags: images are decoded asynchronously since 6.1.
    return re.sub(r"<img(?![^>]*\bdecoding=)", '<img decoding="async"', html_text)


def the_title(raw: str) -> str:
    return convert_chars(wptexturize(raw)).strip(" \t\n\r\0\x0b")


def sanitize_title(title: str) -> str:
    """The slug WordPress makes of a title (remove_accents, then sanitize_title_with_dashes)."""
    text = strip_tags(title)
    # kses stores a stray & as &amp;, and the slug drops every entity.
    text = re.sub(r"&(?!#\d+;|#x[0-9a-f]+;|[a-z][a-z0-9]*;)", "&amp;", text, flags=re.IGNORECASE)
    text = "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    ).lower()
    for dash in ("\xa0", "\u2013", "\u2014", "&nbsp;", "&#160;", "&ndash;", "&#8211;", "&mdash;"):
        text = text.replace(dash, "-")
    text = text.replace("&#8212;", "-").replace("/", "-").replace("\xd7", "x")
    # Soft hyphens, inverted marks, angle and curly quotes, bullets, (c) (r) deg ... (tm).
    text = re.sub(
        "[\xad\xa1\xbf\xab\xbb\u2039\u203a\u2018-\u201f\u2022\xa9\xae\xb0\u2026\u2122]", "", text
    )
    text = re.sub(r"&.+?;", "", text).replace(".", "-")
    text = "".join(c if ord(c) < 128 else quote(c).lower() for c in text)
    text = re.sub(r"[^%a-z0-9 _-]", "", text)
    text = re.sub(r"-+", "-", re.sub(r"\s+", "-", text)).strip("-")
    return text[:200]


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
            parts = urlsplit(self.path)
            delay = site.delays.get(parts.path)
            if delay:
                site.waiting.append(parts.path)
                time.sleep(delay)
            query = parse_qs(parts.query, keep_blank_values=True)
            with site.lock:
                request = _Request(parts.path, parts.query, self.headers)
                status, headers, body = _route(site, request)
                site.hits.append(Hit("GET", parts.path, query, status, headers))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@dataclass(frozen=True)
class _Request:
    path: str
    raw_query: str
    headers: Any  # the request's headers (email.message.Message)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.raw_query, keep_blank_values=True)

    def arg(self, name: str) -> str | None:
        values = [value for key, value in self.pairs if key == name]
        return values[-1] if values else None

    @property
    def target(self) -> str:
        return f"{self.path}?{self.raw_query}" if self.raw_query else self.path


_NO_CACHE = {
    "Expires": "Wed, 11 Jan 1984 05:00:00 GMT",
    "Cache-Control": "no-cache, must-revalidate, max-age=0",
}


def _route(site: SimWordPress, request: _Request) -> Response:
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
        return _api(site, route.rstrip("/") or "/", request)
    feed = re.fullmatch(r"(?:/category/([^/]+))?/feed(?:/rss2)?/?", path)
    if feed:
        return _feed(site, feed.group(1), request)
    return _page_route(site, request)


def _page_route(site: SimWordPress, request: _Request) -> Response:
    path = request.path
    post_arg = request.arg("p")
    if path == "/" and post_arg is not None:
        post = site.posts.get(int(post_arg)) if post_arg.isdigit() else None
        if post and post.status == "publish":
            return _redirect(site.link(post.id))
        return _not_found(site)
    match = re.fullmatch(r"/category/([^/]+)/(?:page/(\d+)/)?", path)
    if match:
        return _conditional(site, request, _listing(site, match.group(1), int(match.group(2) or 1)))
    match = re.fullmatch(r"/([^/]+)/", path)
    if match:
        slug = match.group(1)
        for post in site.published():
            if post.slug == slug:
                return _conditional(site, request, _article(site, post))
        for post in site.posts.values():
            if slug in post.old_slugs:
                # A trashed post has no permalink: the redirect goes to its ?p= form.
                target = site.link(post.id) if post.status == "publish" else None
                return _redirect(target or f"{site.url}/?p={post.id}", no_cache=True)
    if path == "/":
        page = _page(site, "<p>Home</p>", title=site.home_title())
        return _conditional(site, request, (200, _html_headers(site), page))
    last = path.rsplit("/", 1)[-1]
    if last and "." not in last:
        # redirect_canonical: what exists with a trailing slash is redirected there, and an old
        # slug straight to the post.
        slashed = _page_route(site, _Request(f"{path}/", "", request.headers))
        if slashed[0] == 301:
            return slashed
        if slashed[0] == 200:
            query = f"?{request.raw_query}" if request.raw_query else ""
            return _redirect(f"{site.url}{path}/{query}")
    return _not_found(site)


def _redirect(location: str, *, no_cache: bool = False) -> Response:
    headers = {
        **(_NO_CACHE if no_cache else {}),
        "Content-Type": "text/html; charset=UTF-8",
        "X-Redirect-By": "WordPress",
        "Location": location,
    }
    return 301, headers, b""


def _conditional(site: SimWordPress, request: _Request, response: Response) -> Response:
    status, headers, body = response
    if not site.etags or status != 200:
        return response
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    headers = {**headers, "ETag": etag}
    if request.headers.get("If-None-Match") == etag:
        return 304, {"ETag": etag}, b""
    return status, headers, body


def _api_link(site: SimWordPress) -> str:
    return f'<{site.url}/wp-json/>; rel="https://api.w.org/"'


def _html_headers(site: SimWordPress, *links: str) -> dict[str, str]:
    return {
        "Content-Type": "text/html; charset=UTF-8",
        "Link": ", ".join([_api_link(site), *links]),
    }


def _not_found(site: SimWordPress) -> Response:
    body = _page(
        site,
        "<h1 class='page-title'>Page not found</h1>",
        title=site.document_title("Page not found"),
        body_class="error404",
    )
    return 404, {**_NO_CACHE, **_html_headers(site)}, body


# -- REST API --------------------------------------------------------------------------------


def _json(
    site: SimWordPress, status: int, data: Any, headers: dict[str, str] | None = None
) -> Response:
    # PHP's json_encode escapes slashes and non-ASCII, as WordPress's responses show.
    body = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
    base = {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Robots-Tag": "noindex",
        "Link": _api_link(site),
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


@dataclass(frozen=True)
class _Problem:
    code: str
    message: str
    data: Any = None


@dataclass
class _Args:
    """A request's query as WordPress reads it: `name[]=a&name[1]=b` and `name=a,b` are lists
    for array parameters, the last value wins for the others; the order is kept for links."""

    values: dict[str, str | list[str]]
    order: list[str]

    @classmethod
    def parse(cls, pairs: list[tuple[str, str]]) -> _Args:
        values: dict[str, str | list[str]] = {}
        order: list[str] = []
        for key, value in pairs:
            match = re.fullmatch(r"([^\[\]]+)\[[^\]]*\]", key)
            name = match.group(1) if match else key
            if name not in order:
                order.append(name)
            if match:
                previous = values.get(name)
                values[name] = [*(previous if isinstance(previous, list) else []), value]
            else:
                values[name] = value
        return cls(values, order)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def items(self, name: str) -> list[str]:
        value = self.values.get(name)
        if isinstance(value, list):
            return value
        return [v for v in re.split(r"[\s,]+", value or "") if v]


def _integer(value: str) -> int | None:
    # rest_is_integer: numeric without a fractional part ("2", " 3", "2.0").
    match = re.fullmatch(r"\s*([+-]?\d+)(?:\.0*)?\s*", value)
    return int(match.group(1)) if match else None


_REST_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}(?::\d{2})?)?"
)


def rest_date(value: str, tz: ZoneInfo) -> datetime | None:
    """rest_parse_date: ISO 8601 with a time; without an offset it is the site's local time."""
    match = _REST_DATE.fullmatch(value)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    # strtotime rolls 30 February over into March rather than refusing it.
    naive = datetime.combine(date(year, month, 1), datetime.min.time()) + timedelta(
        days=day - 1, hours=hour, minutes=minute, seconds=second
    )
    offset = match.group(7)
    if not offset:
        return naive.replace(tzinfo=tz).astimezone(UTC)
    if offset == "Z":
        return naive.replace(tzinfo=UTC)
    sign = 1 if offset[0] == "+" else -1
    delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6] or 0))
    return (naive - sign * delta).replace(tzinfo=UTC)


def _check_integer(name: str, value: str, low: int | None, high: int | None) -> _Problem | None:
    number = _integer(value)
    if number is None:
        return _Problem("rest_invalid_type", f"{name} is not of type integer.", {"param": name})
    if high is not None and low is not None and not low <= number <= high:
        message = f"{name} must be between {low} (inclusive) and {high} (inclusive)"
        return _Problem("rest_out_of_bounds", message)
    if low is not None and number < low:
        return _Problem("rest_out_of_bounds", f"{name} must be greater than or equal to {low}")
    return None


def _check_ids(name: str, values: list[str], terms: bool) -> _Problem | None:
    for position, value in enumerate(values):
        if _integer(value) is None:
            reason = f"{name}[{position}] is not of type integer."
            if terms:
                message = f"{name} is not a valid Term ID List. Reason: {reason}"
                return _Problem("rest_no_matching_schema", message, {"position": position})
            return _Problem("rest_invalid_type", reason, {"param": f"{name}[{position}]"})
    return None


def _check_enum(name: str, value: str, allowed: Sequence[str]) -> _Problem | None:
    if value in allowed:
        return None
    listed = f"{', '.join(allowed[:-1])}, and {allowed[-1]}" if len(allowed) > 2 else None
    listed = listed or " and ".join(allowed)
    return _Problem("rest_not_in_enum", f"{name} is not one of {listed}.")


Check = Callable[[_Args], _Problem | None]

POST_ORDERBY = (
    "author",
    "date",
    "id",
    "include",
    "modified",
    "parent",
    "relevance",
    "slug",
    "include_slugs",
    "title",
)
TERM_ORDERBY = (
    "id",
    "include",
    "name",
    "slug",
    "include_slugs",
    "term_group",
    "description",
    "count",
)
# Array parameters, which links repeat as name[0]=...: per route, as the schema types them.
POST_ARRAYS = {"author", "author_exclude", "categories", "categories_exclude", "exclude"}
POST_ARRAYS |= {"include", "slug", "status", "tags", "tags_exclude"}
TERM_ARRAYS = {"exclude", "include", "slug"}
INTEGERS = {"per_page", "offset", "parent", "post"}


def _date_check(name: str) -> Check:
    def check(args: _Args) -> _Problem | None:
        value = args.text(name)
        if value is None or rest_date(value, ZoneInfo("UTC")) is not None:
            return None
        return _Problem("rest_invalid_date", "Invalid date.")

    return check


def _int_check(name: str, low: int | None = None, high: int | None = None) -> Check:
    def check(args: _Args) -> _Problem | None:
        value = args.text(name)
        return None if value is None else _check_integer(name, value, low, high)

    return check


def _ids_check(name: str, *, terms: bool = False) -> Check:
    def check(args: _Args) -> _Problem | None:
        return _check_ids(name, args.items(name), terms) if name in args.values else None

    return check


def _enum_check(name: str, allowed: Sequence[str]) -> Check:
    def check(args: _Args) -> _Problem | None:
        value = args.text(name)
        return None if value is None else _check_enum(name, value, allowed)

    return check


def _status_check(args: _Args) -> _Problem | None:
    if all(status == "publish" for status in args.items("status")):
        return None
    return _Problem("rest_forbidden_status", "Status is forbidden.", {"status": 401})


def _bool_check(name: str) -> Check:
    def check(args: _Args) -> _Problem | None:
        value = args.text(name)
        if value is None or value.lower() in ("", "0", "1", "false", "true"):
            return None
        return _Problem("rest_invalid_type", f"{name} is not of type boolean.", {"param": name})

    return check


POST_CHECKS: dict[str, Check] = {
    "page": _int_check("page", 1),
    "per_page": _int_check("per_page", 1, 100),
    "after": _date_check("after"),
    "modified_after": _date_check("modified_after"),
    "author": _ids_check("author"),
    "before": _date_check("before"),
    "modified_before": _date_check("modified_before"),
    "exclude": _ids_check("exclude"),
    "include": _ids_check("include"),
    "offset": _int_check("offset"),
    "order": _enum_check("order", ("asc", "desc")),
    "orderby": _enum_check("orderby", POST_ORDERBY),
    "status": _status_check,
    "categories": _ids_check("categories", terms=True),
    "categories_exclude": _ids_check("categories_exclude", terms=True),
    "tags": _ids_check("tags", terms=True),
}
TERM_CHECKS: dict[str, Check] = {
    "page": _int_check("page", 1),
    "per_page": _int_check("per_page", 1, 100),
    "exclude": _ids_check("exclude"),
    "include": _ids_check("include"),
    "order": _enum_check("order", ("asc", "desc")),
    "orderby": _enum_check("orderby", TERM_ORDERBY),
    "hide_empty": _bool_check("hide_empty"),
    "parent": _int_check("parent"),
    "post": _int_check("post"),
}


def _invalid(site: SimWordPress, args: _Args, checks: dict[str, Check]) -> Response | None:
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


def _api(site: SimWordPress, route: str, request: _Request) -> Response:
    if site.api == "forbidden":
        return _error(
            site, 401, "rest_login_required", "REST API restricted to authenticated users."
        )
    if site.api == "not_found":
        return _not_found(site)
    if site.api == "html":
        return 200, _html_headers(site), _page(site, "<p>Home</p>", title=site.home_title())
    if site.api == "challenge":
        return 200, {"Content-Type": "text/html; charset=UTF-8"}, CHALLENGE_PAGE
    if site.api == "invalid_json":
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, b'{"id":1,"title":'
    args = _Args.parse(request.pairs)
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


def _page_link(site: SimWordPress, route: str, args: _Args, arrays: set[str], page: int) -> str:
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
    number = _integer(value)
    return value if number is None else str(number)


def _urlencode(text: str) -> str:
    return quote_plus(text, safe="").replace("~", "%7E")  # as PHP's urlencode


def _paged(
    site: SimWordPress,
    route: str,
    args: _Args,
    arrays: set[str],
    items: Sequence[T],
    render: Callable[[T], dict[str, Any]],
    *,
    refuse_past_end: bool,
) -> Response:
    size = _integer(args.text("per_page") or "10") or 10
    number = _integer(args.text("page") or "1") or 1
    offset = _integer(args.text("offset") or "0") or 0
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


def _categories(site: SimWordPress, args: _Args) -> Response:
    invalid = _invalid(site, args, TERM_CHECKS)
    if invalid:
        return invalid
    items = [_category_json(site, slug) for slug in site.category_names()]
    wanted = [sanitize_title(s) for s in args.items("slug")]
    if wanted:
        items = [c for c in items if c["slug"] in wanted]
    include = [_integer(v) for v in args.items("include")]
    if include:
        items = [c for c in items if c["id"] in include]
    exclude = [_integer(v) for v in args.items("exclude")]
    items = [c for c in items if c["id"] not in exclude]
    if (args.text("hide_empty") or "").lower() in ("1", "true"):
        items = [c for c in items if c["count"] > 0]
    post = args.text("post")
    if post is not None:
        found = site.posts.get(_integer(post) or 0)
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


def _posts(site: SimWordPress, args: _Args) -> Response:
    invalid = _invalid(site, args, POST_CHECKS)
    if invalid:
        return invalid
    posts = site.published()
    by_id = {site.category_id(slug): slug for slug in site.category_names()}
    if args.items("categories"):
        wanted = {by_id.get(_integer(v) or 0) for v in args.items("categories")}
        posts = [p for p in posts if wanted & set(p.categories)]
    if args.items("categories_exclude"):
        unwanted = {by_id.get(_integer(v) or 0) for v in args.items("categories_exclude")}
        posts = [p for p in posts if not unwanted & set(p.categories)]
    include = [_integer(v) for v in args.items("include")]
    if include:
        posts = [p for p in posts if p.id in include]
    exclude = {_integer(v) for v in args.items("exclude")}
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


# -- feeds -----------------------------------------------------------------------------------


def _feed(site: SimWordPress, slug: str | None, request: _Request) -> Response:
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
    links = [_api_link(site)]
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
        headers = {**_NO_CACHE, **headers}
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


def _not_modified(request: _Request, modified: str, etag: str) -> bool:
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


# -- pages -----------------------------------------------------------------------------------


def _page(
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


def _article(site: SimWordPress, post: Post) -> Response:
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
    page = _page(site, main, title=document_title, body_class=body_class, head=head)
    links = (
        f'<{site.url}/wp-json/wp/v2/posts/{post.id}>; rel="alternate"; type="application/json"',
        f"<{shortlink}>; rel=shortlink",
    )
    return 200, _html_headers(site, *links), page


def _listing(site: SimWordPress, slug: str, page: int) -> Response:
    if slug not in site.category_names():
        return _not_found(site)
    posts = sorted(
        (p for p in site.published() if slug in p.categories),
        key=lambda p: (p.date_gmt, p.id),
        reverse=True,
    )
    pages = max(1, math.ceil(len(posts) / POSTS_PER_PAGE))
    if page > pages:
        return _not_found(site)
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
    body = _page(
        site,
        main,
        title=site.document_title(*parts),
        body_class=f"archive category category-{slug}",
    )
    json_link = f"{site.url}/wp-json/wp/v2/categories/{site.category_id(slug)}"
    return (
        200,
        _html_headers(site, f'<{json_link}>; rel="alternate"; type="application/json"'),
        body,
    )
