"""The contract: what a real WordPress answers, and the simulated site must answer alike.

Each test runs against Debian's WordPress 6.1 (tests/realwp: site time Asia/Jakarta, UTC+7,
/%postname%/ permalinks, twentytwentyone, no plugins) and against tests/sim in the same setup.
What the real one was seen to do, test by test:

Categories (/wp-json/wp/v2/categories?slug=news,speeches&_fields=id,slug,name,count)
- 200, a JSON list ordered by name (not by the slugs' order), each object exactly
  {id, count, name, slug}; X-WP-Total: 2, X-WP-TotalPages: 1. count = published posts only
  (= X-WP-Total of /posts?categories=ID). An unknown slug: 200, [], X-WP-Total 0,
  X-WP-TotalPages 0. Names come HTML-escaped: "Statements &amp; Meetings".

Posts (/wp-json/wp/v2/posts)
- A post has id, date, date_gmt, modified, modified_gmt, slug, status ("publish"), type, link,
  title {rendered}, content {rendered, protected}, excerpt {rendered, protected}, guid
  {rendered}, author, featured_media, comment_status, ping_status, sticky, template, format,
  meta, categories [ids], tags, _links. Dates have no offset: "2021-06-01T03:04:05" for *_gmt
  (UTC) and "2021-06-01T10:04:05" for date/modified (site time). link = URL/slug/;
  guid = URL/?p=ID (posts written in the editor start as drafts, whose permalink is ?p=ID).
  Content is wpautop'ed: "<p>Body text.</p>\n", paragraphs joined by a single "\n".
- Paging: X-WP-Total and X-WP-TotalPages on every page. Link holds only rel="next" on the
  first page, rel="prev" and rel="next" in between, only rel="prev" on the last (and, for a
  single page, only the rel="https://api.w.org/" link). The URLs repeat the query as sent with
  page=N, except categories, which comes back as categories%5B0%5D=ID. A page past the end:
  400 {"code": "rest_post_invalid_page_number"}; but when nothing matches at all, any page is
  200 [] with X-WP-Total 0 and X-WP-TotalPages 0. per_page=101: 400 "rest_invalid_param",
  data.params == {"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"}.
- modified_after and modified_before are both strict (> and <). With Z or +HH:MM the value is
  that instant; WITHOUT an offset it is site time (2020-02-01T17:00:00 means 10:00 UTC); a space
  instead of the T works too. A date alone ("2020-02-01") or garbage: 400 "rest_invalid_param",
  data.params == {"modified_after": "Invalid date."}, details code "rest_invalid_date".
- Both compare in site time (the post_modified column), and orderby=modified sorts by it: where
  an hour happens twice (New York, 1 Nov 2026, 01:00-02:00), an edit at 01:10 winter time is not
  after 01:49 summer time, and sorts before it.
- _fields=id,modified_gmt: exactly those keys, in lists and single posts.
- Editing keeps id, slug, link and guid and date; modified moves to now.
- Trashed post: /posts/ID answers 401 {"code": "rest_forbidden"} without credentials, it is not
  in the collection (?include=ID gives [] and X-WP-Total 0), its permalink and /?p=ID answer 404.
  Restored: back with the same slug and link, modified = now (trash and restore are edits).
  A missing ID: 404 {"code": "rest_post_invalid_id", "message": "Invalid post ID.",
  "data": {"status": 404}}.
- Slug change: the old permalink answers 301 with Location: URL/new-slug/ (absolute); the id
  stays; ?slug=old finds nothing, ?slug=new finds the post.
- /?rest_route=/wp/v2/posts answers like /wp-json/wp/v2/posts; /wp-json (no slash) works too.

Quotes and dashes (wptexturize), for the title It's the "ASEAN-Russia" -- partnership...
- title.rendered, the RSS <title> and the page: It&#8217;s the &#8220;ASEAN-Russia&#8221;
  &#8212; partnership&#8230; (' -> &#8217; or &#8216;...&#8217;, " -> &#8220;...&#8221;,
  " -- " -> " &#8212; ", "10--12" -> 10&#8211;12, ... -> &#8230;, "1990's" -> 1990&#8217;s;
  the hyphen in ASEAN-Russia stays). The same entities in content.rendered, content:encoded,
  the excerpt and <description>. HTML <title>: "{title} &#8211; ASEAN Main Portal".

RSS (/category/news/feed/): Content-Type "application/rss+xml; charset=UTF-8", <rss version="2.0">
- channel title "News &#8211; ASEAN Main Portal", link = URL (no slash), description = tagline;
  ten items a page, newest first (same order as the API's default, date desc). Each item: title,
  link, comments, dc:creator (CDATA), pubDate in GMT ("Wed, 03 Feb 2021 04:05:06 +0000"),
  category (CDATA name), <guid isPermaLink="false">URL/?p=ID</guid>, description (CDATA
  excerpt), content:encoded (CDATA, the same HTML as content.rendered), wfw:commentRss,
  slash:comments. ?paged=2 gives the next ten; a page past the end answers 404 with an RSS
  body without items. atom:link rel="self" drops the port (http://127.0.0.1/category/...).
- Feeds send Last-Modified (the newest post modification on the whole site, not in the
  feed) and ETag = '"' + md5(Last-Modified value) + '"'; If-None-Match or If-Modified-Since
  with them gives 304 with an empty body. The REST API sends neither.

Index (/wp-json/): name, description (the tagline, HTML-escaped: "&amp;"), url, home (URL, no
slash), gmt_offset 7 (a number), timezone_string "Asia/Jakarta", namespaces with "wp/v2".
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.realwp.fixtures import real_wordpress  # noqa: F401  (a fixture, used by name)
from tests.wpsite import CATEGORIES, SITE_NAME, SITE_TIMEZONE, WordPressSite

pytestmark = pytest.mark.realwp

SIM_SOURCE = Path(__file__).parent / "sim" / "wordpress.py"
# The real site is core WordPress with a classic theme and no plugins: the simulation is held to
# it in the same setup, without asean.org's theme and Yoast's additions to feeds and titles.
SIM_AS_PLAIN_WORDPRESS: dict[str, Any] = {"theme": "classic", "yoast": False}
SITE_OFFSET = timedelta(hours=7)  # SITE_TIMEZONE, which has no DST
NS = {
    "content": "http://purl.org/rss/1.0/modules/content/",
    "atom": "http://www.w3.org/2005/Atom",
}
REST_DATE = "%Y-%m-%dT%H:%M:%S"


@pytest.fixture(scope="session")
def sim_wordpress() -> Iterator[WordPressSite]:
    try:
        from tests.sim.wordpress import SimWordPress
    except ModuleNotFoundError as exc:
        # Only the module's absence skips: a broken simulation must fail.
        if exc.name not in {"tests.sim", "tests.sim.wordpress"} or SIM_SOURCE.exists():
            raise
        pytest.skip("simulated site not written yet")
    with SimWordPress(**SIM_AS_PLAIN_WORDPRESS) as site:
        yield site


@pytest.fixture(params=[pytest.param("real", marks=pytest.mark.slow), "sim"])
def wp_site(request: pytest.FixtureRequest) -> WordPressSite:
    site: WordPressSite = request.getfixturevalue(f"{request.param}_wordpress")
    return site


# -- helpers ---------------------------------------------------------------------------------


def get(site: WordPressSite, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{site.url}{path}", params=params or None, timeout=30)


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["code"]
    return code


def unique() -> str:
    return uuid.uuid4().hex[:10]


def category_id(site: WordPressSite, slug: str) -> int:
    found = get(site, "/wp-json/wp/v2/categories", slug=slug).json()
    assert len(found) == 1, found
    category: int = found[0]["id"]
    return category


def rest_post(site: WordPressSite, post_id: int, **params: Any) -> dict[str, Any]:
    response = get(site, f"/wp-json/wp/v2/posts/{post_id}", **params)
    assert response.status_code == 200, response.text
    post: dict[str, Any] = response.json()
    return post


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [post["id"] for post in response.json()]


def in_window(site: WordPressSite, start: datetime, **params: Any) -> httpx.Response:
    """Posts modified in the day after `start`: each test moves its posts to a day of its own."""
    return get(
        site,
        "/wp-json/wp/v2/posts",
        modified_after=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        modified_before=(start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **params,
    )


def modified_between(site: WordPressSite, after: str, before: str) -> list[int]:
    """Ids of the posts modified strictly between the two dates, in `orderby=modified` order."""
    response = get(
        site,
        "/wp-json/wp/v2/posts",
        modified_after=after,
        modified_before=before,
        orderby="modified",
        order="asc",
    )
    return ids(response)


def feed_items(response: httpx.Response) -> list[ET.Element]:
    assert response.headers["content-type"] == "application/rss+xml; charset=UTF-8"
    root = ET.fromstring(response.content)
    assert root.tag == "rss"
    assert root.get("version") == "2.0"
    return root.findall("./channel/item")


def feed_item(response: httpx.Response, site: WordPressSite, post_id: int) -> ET.Element:
    guid = f"{site.url}/?p={post_id}"
    for item in feed_items(response):
        if item.findtext("guid") == guid:
            return item
    raise AssertionError(f"no item with guid {guid} in {response.url}")


# -- 1. categories ---------------------------------------------------------------------------


def test_categories_by_slug_with_fields(wp_site: WordPressSite) -> None:
    wp_site.add_post(f"Category count {unique()}", "Counted.", categories=["speeches"])

    response = get(
        wp_site, "/wp-json/wp/v2/categories", slug="news,speeches", _fields="id,slug,name,count"
    )

    assert response.status_code == 200
    assert response.headers["X-WP-Total"] == "2"
    assert response.headers["X-WP-TotalPages"] == "1"
    found = response.json()
    # Ordered by name, not by the order of the slugs asked for.
    assert [(c["slug"], c["name"]) for c in found] == [("news", "News"), ("speeches", "Speeches")]
    for category in found:
        assert set(category) == {"id", "slug", "name", "count"}
        assert isinstance(category["id"], int)
        # count is the number of published posts, which the posts collection also reports.
        total = get(wp_site, "/wp-json/wp/v2/posts", categories=category["id"], _fields="id")
        assert category["count"] == int(total.headers["X-WP-Total"])
    assert found[1]["count"] >= 1


def test_category_names_come_html_escaped(wp_site: WordPressSite) -> None:
    response = get(wp_site, "/wp-json/wp/v2/categories", slug="statements-meetings")

    assert response.status_code == 200
    [category] = response.json()
    assert CATEGORIES["statements-meetings"] == "Statements & Meetings"
    assert category["name"] == "Statements &amp; Meetings"


def test_unknown_category_slug_is_an_empty_list(wp_site: WordPressSite) -> None:
    response = get(wp_site, "/wp-json/wp/v2/categories", slug=f"no-such-{unique()}")

    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["X-WP-Total"] == "0"
    assert response.headers["X-WP-TotalPages"] == "0"


# -- 2. the posts collection -----------------------------------------------------------------


def test_post_fields(wp_site: WordPressSite) -> None:
    title = f"Field check {unique()}"
    published = datetime(2021, 6, 1, 3, 4, 5, tzinfo=UTC)
    post_id = wp_site.add_post(title, "Body text.", date_gmt=published)
    wp_site.set_modified(post_id, datetime(2021, 6, 2, 20, 0, 0, tzinfo=UTC))

    post = rest_post(wp_site, post_id)

    assert {
        "id",
        "date",
        "date_gmt",
        "modified",
        "modified_gmt",
        "slug",
        "status",
        "link",
        "title",
        "content",
        "excerpt",
        "guid",
        "categories",
    } <= set(post)
    assert post["id"] == post_id
    # Dates carry no offset: *_gmt is UTC, the others are site time (UTC+7).
    assert post["date_gmt"] == "2021-06-01T03:04:05"
    assert post["date"] == "2021-06-01T10:04:05"
    assert post["modified_gmt"] == "2021-06-02T20:00:00"
    assert post["modified"] == "2021-06-03T03:00:00"
    assert post["status"] == "publish"
    assert post["slug"] == title.lower().replace(" ", "-")
    assert post["link"] == f"{wp_site.url}/{post['slug']}/"
    assert post["title"] == {"rendered": title}
    assert post["content"] == {"rendered": "<p>Body text.</p>\n", "protected": False}
    assert post["guid"] == {"rendered": f"{wp_site.url}/?p={post_id}"}
    assert post["categories"] == [category_id(wp_site, "news")]


def test_posts_paging_by_modified(wp_site: WordPressSite) -> None:
    window = datetime(2020, 1, 2, tzinfo=UTC)
    news = category_id(wp_site, "news")
    posts = [wp_site.add_post(f"Paging {i} {unique()}", f"Body {i}.") for i in range(5)]
    # Added in the reverse of the order the modification times give them.
    for offset, post_id in enumerate(reversed(posts)):
        wp_site.set_modified(post_id, window + timedelta(minutes=offset + 1))
    params = {"categories": news, "per_page": 2, "orderby": "modified", "order": "asc"}

    pages = [in_window(wp_site, window, **params, page=page) for page in (1, 2, 3)]

    assert [ids(page) for page in pages] == [posts[4:2:-1], posts[2:0:-1], posts[0:1]]
    for page in pages:
        assert page.headers["X-WP-Total"] == "5"
        assert page.headers["X-WP-TotalPages"] == "3"
    assert set(pages[0].links) == {"next"}
    assert set(pages[1].links) == {"prev", "next"}
    assert set(pages[2].links) == {"prev"}
    next_url = urlsplit(pages[0].links["next"]["url"])
    assert f"{next_url.scheme}://{next_url.netloc}" == wp_site.url
    assert next_url.path == "/wp-json/wp/v2/posts"
    # The category comes back as an array parameter; every other parameter as it was sent.
    assert parse_qs(next_url.query) == {
        "categories[0]": [str(news)],
        "per_page": ["2"],
        "orderby": ["modified"],
        "order": ["asc"],
        "page": ["2"],
        "modified_after": ["2020-01-02T00:00:00Z"],
        "modified_before": ["2020-01-03T00:00:00Z"],
    }
    assert ids(httpx.get(pages[0].links["next"]["url"])) == ids(pages[1])
    assert ids(httpx.get(pages[2].links["prev"]["url"])) == ids(pages[1])

    past_the_end = in_window(wp_site, window, **params, page=4)
    assert past_the_end.status_code == 400
    assert error_code(past_the_end) == "rest_post_invalid_page_number"


def test_empty_collection(wp_site: WordPressSite) -> None:
    nothing = datetime(2019, 5, 5, tzinfo=UTC)

    first = in_window(wp_site, nothing)
    second = in_window(wp_site, nothing, page=2)

    for response in (first, second):
        assert response.status_code == 200
        assert response.json() == []
        assert response.headers["X-WP-Total"] == "0"
        assert response.headers["X-WP-TotalPages"] == "0"


def test_per_page_over_100_is_refused(wp_site: WordPressSite) -> None:
    response = get(wp_site, "/wp-json/wp/v2/posts", per_page=101)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["data"]["status"] == 400
    assert body["data"]["params"] == {
        "per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"
    }
    assert get(wp_site, "/wp-json/wp/v2/posts", per_page=100).status_code == 200


# -- 3. modified_after -----------------------------------------------------------------------


def test_modified_after_reads_offsetless_dates_in_site_time(wp_site: WordPressSite) -> None:
    day = datetime(2020, 2, 1, tzinfo=UTC)
    early, middle, late = (wp_site.add_post(f"Modified {unique()}", "x") for _ in range(3))
    wp_site.set_modified(early, day.replace(hour=10))
    wp_site.set_modified(middle, day.replace(hour=12))
    wp_site.set_modified(late, day.replace(hour=17, minute=30))

    def after(value: str) -> list[int]:
        return modified_between(wp_site, value, "2020-02-02T00:00:00Z")

    assert after("2020-02-01T09:59:59Z") == [early, middle, late]
    # Strict: a post modified exactly at the instant given is not "after" it.
    assert after("2020-02-01T10:00:00Z") == [middle, late]
    assert after("2020-02-01T12:00:00+00:00") == [late]
    assert after("2020-02-01T17:00:00+07:00") == [middle, late]
    # Without an offset the value is site time (UTC+7): 10:00 there is 03:00 UTC ...
    assert after("2020-02-01T10:00:00") == [early, middle, late]
    # ... and 17:00 there is 10:00 UTC.
    assert after("2020-02-01T17:00:00") == [middle, late]
    assert after("2020-02-01 17:00:00") == [middle, late]
    assert rest_post(wp_site, late, _fields="modified,modified_gmt") == {
        "modified": "2020-02-02T00:30:00",
        "modified_gmt": "2020-02-01T17:30:00",
    }


def test_modified_after_compares_site_times_so_an_hour_can_happen_twice(
    wp_site: WordPressSite,
) -> None:
    """New York, 1 November 2026: 01:00-02:00 is lived twice, in summer then in winter time.
    WordPress compares `modified_after` with the site-time column: an edit at 01:10 winter time
    (06:10 UTC) is not "after" 01:49 summer time (05:49 UTC), twenty minutes before it."""
    wp_site.set_timezone("America/New_York")
    made: list[int] = []
    try:
        summer, winter = (wp_site.add_post(f"Twice {unique()}", "x") for _ in range(2))
        made += [summer, winter]
        wp_site.set_modified(summer, datetime(2026, 11, 1, 5, 50, tzinfo=UTC))
        wp_site.set_modified(winter, datetime(2026, 11, 1, 6, 10, tzinfo=UTC))

        def after(value: str) -> list[int]:
            return modified_between(wp_site, value, "2026-11-02T00:00:00Z")

        assert after("2026-11-01T05:49:00Z") == [summer]  # the winter edit is missed
        # an hour more finds it, and orderby=modified sorts by site time as well
        assert after("2026-11-01T04:49:00Z") == [winter, summer]
        assert rest_post(wp_site, winter, _fields="modified,modified_gmt") == {
            "modified": "2026-11-01T01:10:00",
            "modified_gmt": "2026-11-01T06:10:00",
        }
    finally:
        for post_id in made:  # stored in New York time: not for the tests that come after
            wp_site.trash_post(post_id)
        wp_site.set_timezone(SITE_TIMEZONE)


def test_modified_before_is_strict_too(wp_site: WordPressSite) -> None:
    day = datetime(2020, 2, 5, tzinfo=UTC)
    post_id = wp_site.add_post(f"Before {unique()}", "x")
    wp_site.set_modified(post_id, day.replace(hour=12))

    def before(value: str) -> list[int]:
        response = get(
            wp_site,
            "/wp-json/wp/v2/posts",
            modified_after="2020-02-05T00:00:00Z",
            modified_before=value,
        )
        return ids(response)

    assert before("2020-02-05T12:00:00Z") == []
    assert before("2020-02-05T12:00:01Z") == [post_id]
    assert before("2020-02-05T19:00:01") == [post_id]


def test_modified_after_needs_a_time(wp_site: WordPressSite) -> None:
    for value in ("2020-02-01", "yesterday"):
        response = get(wp_site, "/wp-json/wp/v2/posts", modified_after=value)

        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "rest_invalid_param"
        assert body["data"]["params"] == {"modified_after": "Invalid date."}
        assert body["data"]["details"]["modified_after"]["code"] == "rest_invalid_date"


# -- 4. _fields ------------------------------------------------------------------------------


def test_fields_limits_the_keys(wp_site: WordPressSite) -> None:
    window = datetime(2020, 3, 1, tzinfo=UTC)
    post_id = wp_site.add_post(f"Fields {unique()}", "x")
    wp_site.set_modified(post_id, window + timedelta(hours=1))

    collection = in_window(wp_site, window, _fields="id,modified_gmt")
    single = get(wp_site, f"/wp-json/wp/v2/posts/{post_id}", _fields="id,modified_gmt")

    expected = {"id": post_id, "modified_gmt": "2020-03-01T01:00:00"}
    assert collection.json() == [expected]
    assert single.json() == expected


def test_edit_keeps_the_link_and_moves_modified(wp_site: WordPressSite) -> None:
    title = f"Edited {unique()}"
    published = datetime(2021, 7, 1, 8, 0, 0, tzinfo=UTC)
    post_id = wp_site.add_post(title, "First version.", date_gmt=published)
    wp_site.set_modified(post_id, datetime(2021, 7, 2, tzinfo=UTC))
    before = rest_post(wp_site, post_id)

    wp_site.edit_post(post_id, title=f"{title} (corrected)", content="Second version.")

    after = rest_post(wp_site, post_id)
    # A published post keeps its slug when its title changes.
    assert (after["slug"], after["link"], after["guid"]) == (
        before["slug"],
        before["link"],
        before["guid"],
    )
    assert (after["date_gmt"], after["date"]) == ("2021-07-01T08:00:00", "2021-07-01T15:00:00")
    assert after["modified_gmt"] > "2021-07-02T00:00:00"
    assert after["title"]["rendered"] == f"{title} (corrected)"
    assert after["content"]["rendered"] == "<p>Second version.</p>\n"


# -- 5. trash and missing posts ---------------------------------------------------------------


def test_trashed_post_is_gone_until_untrashed(wp_site: WordPressSite) -> None:
    post_id = wp_site.add_post(f"Trashed {unique()}", "Soon gone.")
    before = rest_post(wp_site, post_id)
    wp_site.set_modified(post_id, datetime(2020, 4, 1, tzinfo=UTC))

    wp_site.trash_post(post_id)

    single = get(wp_site, f"/wp-json/wp/v2/posts/{post_id}")
    assert single.status_code == 401
    assert error_code(single) == "rest_forbidden"
    listed = get(wp_site, "/wp-json/wp/v2/posts", include=post_id)
    assert listed.json() == []
    assert listed.headers["X-WP-Total"] == "0"
    assert httpx.get(before["link"]).status_code == 404
    assert get(wp_site, "/", p=post_id).status_code == 404

    wp_site.untrash_post(post_id)

    after = rest_post(wp_site, post_id)
    assert after["status"] == "publish"
    assert after["slug"] == before["slug"]
    assert after["link"] == before["link"]
    assert ids(get(wp_site, "/wp-json/wp/v2/posts", include=post_id)) == [post_id]
    assert httpx.get(before["link"]).status_code == 200
    # Trashing and restoring are edits: the post comes back modified now, not at its old time.
    assert after["modified_gmt"] > "2020-04-01T00:00:00"


def test_missing_post(wp_site: WordPressSite) -> None:
    response = get(wp_site, "/wp-json/wp/v2/posts/987654321")

    assert response.status_code == 404
    assert response.json() == {
        "code": "rest_post_invalid_id",
        "message": "Invalid post ID.",
        "data": {"status": 404},
    }


# -- 6. slug change --------------------------------------------------------------------------


def test_old_slug_redirects_to_the_new_one(wp_site: WordPressSite) -> None:
    token = unique()
    post_id = wp_site.add_post(f"Renamed {token}", "x", slug=f"old-{token}")
    assert rest_post(wp_site, post_id)["link"] == f"{wp_site.url}/old-{token}/"

    wp_site.change_slug(post_id, f"new-{token}")

    new_link = f"{wp_site.url}/new-{token}/"
    old = get(wp_site, f"/old-{token}/")
    assert old.status_code == 301
    assert old.headers["Location"] == new_link
    assert httpx.get(new_link).status_code == 200
    post = rest_post(wp_site, post_id)
    assert (post["id"], post["slug"], post["link"]) == (post_id, f"new-{token}", new_link)
    assert ids(get(wp_site, "/wp-json/wp/v2/posts", slug=f"old-{token}")) == []
    assert ids(get(wp_site, "/wp-json/wp/v2/posts", slug=f"new-{token}")) == [post_id]


# -- 7. wptexturize --------------------------------------------------------------------------

TYPED_TITLE = """It's the "ASEAN-Russia" -- partnership..."""
TYPED_CONTENT = (
    """The "strategic" partnership -- it's 20 years old... Ministers said 'yes'.\n\n"""
    """Second paragraph: the 1990's, pages 10--12."""
)
SHOWN_TITLE = "It&#8217;s the &#8220;ASEAN-Russia&#8221; &#8212; partnership&#8230;"
SHOWN_PARAGRAPHS = [
    "<p>The &#8220;strategic&#8221; partnership &#8212; it&#8217;s 20 years old&#8230;"
    " Ministers said &#8216;yes&#8217;.</p>",
    "<p>Second paragraph: the 1990&#8217;s, pages 10&#8211;12.</p>",
]
SHOWN_EXCERPT = (
    "The &#8220;strategic&#8221; partnership &#8212; it&#8217;s 20 years old&#8230;"
    " Ministers said &#8216;yes&#8217;. Second paragraph: the 1990&#8217;s, pages 10&#8211;12."
)


def test_quotes_and_dashes_in_the_api(wp_site: WordPressSite) -> None:
    post_id = wp_site.add_post(TYPED_TITLE, TYPED_CONTENT)

    post = rest_post(wp_site, post_id)

    assert post["title"]["rendered"] == SHOWN_TITLE
    assert post["content"]["rendered"] == "\n".join(SHOWN_PARAGRAPHS) + "\n"
    assert post["excerpt"]["rendered"] == f"<p>{SHOWN_EXCERPT}</p>\n"


def test_quotes_and_dashes_in_the_feed(wp_site: WordPressSite) -> None:
    post_id = wp_site.add_post(TYPED_TITLE, TYPED_CONTENT, categories=["speeches"])

    response = get(wp_site, "/category/speeches/feed/")

    assert response.status_code == 200
    # The raw XML: entities as WordPress writes them, content and description in CDATA.
    item_xml = next(x for x in response.text.split("<item>") if f"/?p={post_id}</guid>" in x)
    assert f"<title>{SHOWN_TITLE}</title>" in item_xml
    encoded = "\n".join(SHOWN_PARAGRAPHS) + "\n"
    assert f"<content:encoded><![CDATA[{encoded}]]></content:encoded>" in item_xml
    assert f"<description><![CDATA[{SHOWN_EXCERPT}]]></description>" in item_xml


def test_quotes_and_dashes_on_the_page(wp_site: WordPressSite) -> None:
    post_id = wp_site.add_post(TYPED_TITLE, TYPED_CONTENT)

    page = httpx.get(rest_post(wp_site, post_id)["link"])

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=UTF-8"
    assert f"<title>{SHOWN_TITLE} &#8211; {SITE_NAME}</title>" in page.text
    for paragraph in SHOWN_PARAGRAPHS:
        assert paragraph in page.text


# -- 8. RSS ----------------------------------------------------------------------------------


def test_category_feed_items(wp_site: WordPressSite) -> None:
    # Now, so it is among the ten newest, which are all the feed holds.
    published = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    title = f"Feed item {unique()}"
    post_id = wp_site.add_post(title, "Feed body.", date_gmt=published)
    link = rest_post(wp_site, post_id)["link"]

    response = get(wp_site, "/category/news/feed/")

    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.findtext("./channel/title") == f"News \N{EN DASH} {SITE_NAME}"
    assert root.findtext("./channel/link") == wp_site.url
    item = feed_item(response, wp_site, post_id)
    assert item.findtext("title") == title
    assert item.findtext("link") == link
    guid = item.find("guid")
    assert guid is not None
    assert guid.get("isPermaLink") == "false"
    assert guid.text == f"{wp_site.url}/?p={post_id}"
    assert item.findtext("pubDate") == published.strftime("%a, %d %b %Y %H:%M:%S +0000")
    assert item.findtext("content:encoded", namespaces=NS) == "<p>Feed body.</p>\n"
    assert item.findtext("category") == "News"
    for each in feed_items(response):
        stamp = each.findtext("pubDate") or ""
        assert stamp.endswith(" +0000")
        assert format_datetime(parsedate_to_datetime(stamp)) == stamp


def test_category_feed_pages(wp_site: WordPressSite) -> None:
    slug = "statements-meetings"
    statements = category_id(wp_site, slug)
    first_day = datetime(2021, 1, 1, tzinfo=UTC)
    for day in range(11):
        wp_site.add_post(
            f"Statement {unique()}",
            "x",
            categories=[slug],
            date_gmt=first_day + timedelta(days=day),
        )
    total = int(get(wp_site, "/wp-json/wp/v2/posts", categories=statements).headers["X-WP-Total"])
    pages = math.ceil(total / 10)

    first = get(wp_site, f"/category/{slug}/feed/")
    second = get(wp_site, f"/category/{slug}/feed/", paged=2)
    past_the_end = get(wp_site, f"/category/{slug}/feed/", paged=pages + 1)

    assert first.status_code == 200
    assert second.status_code == 200
    # Ten items a page, newest first, the same posts and order as the API by date.
    for number, page in ((1, first), (2, second)):
        guids = [item.findtext("guid") for item in feed_items(page)]
        api = get(wp_site, "/wp-json/wp/v2/posts", categories=statements, per_page=10, page=number)
        assert guids == [f"{wp_site.url}/?p={post_id}" for post_id in ids(api)]
    assert len(feed_items(first)) == 10
    assert past_the_end.status_code == 404
    assert feed_items(past_the_end) == []


def test_feed_conditional_get(wp_site: WordPressSite) -> None:
    wp_site.add_post(f"Conditional {unique()}", "x", categories=["speeches"])
    first = get(wp_site, "/category/news/feed/")
    last_modified = first.headers["Last-Modified"]
    etag = first.headers["ETag"]
    assert etag == f'"{hashlib.md5(last_modified.encode()).hexdigest()}"'

    api = get(wp_site, "/wp-json/wp/v2/posts")
    assert "ETag" not in api.headers
    assert "Last-Modified" not in api.headers

    for validators in ({"If-None-Match": etag}, {"If-Modified-Since": last_modified}):
        repeat = httpx.get(f"{wp_site.url}/category/news/feed/", headers=validators)
        assert repeat.status_code == 304
        assert repeat.content == b""

    # Last-Modified has whole seconds: change something in the next one.
    changed_at = parsedate_to_datetime(last_modified)
    time.sleep(max(0.0, (changed_at - datetime.now(UTC)).total_seconds() + 1.1))
    other = wp_site.add_post(f"Conditional {unique()}", "x", categories=["speeches"])

    # A post in another category changes the news feed's validators too: they are the site's.
    after = httpx.get(f"{wp_site.url}/category/news/feed/", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    modified_gmt = rest_post(wp_site, other, _fields="modified_gmt")["modified_gmt"]
    assert parsedate_to_datetime(after.headers["Last-Modified"]) == datetime.strptime(
        modified_gmt, REST_DATE
    ).replace(tzinfo=UTC)


# -- 9. the index ----------------------------------------------------------------------------


def test_rest_index(wp_site: WordPressSite) -> None:
    wp_site.set_tagline("News & views from the Secretariat")

    index = get(wp_site, "/wp-json/")

    assert index.status_code == 200
    body = index.json()
    assert body["name"] == SITE_NAME
    assert body["description"] == "News &amp; views from the Secretariat"
    assert body["url"] == wp_site.url
    assert body["home"] == wp_site.url
    assert body["gmt_offset"] == 7
    assert body["timezone_string"] == SITE_TIMEZONE
    assert "wp/v2" in body["namespaces"]


# -- 10. routes --------------------------------------------------------------------------------


def test_pretty_and_plain_rest_routes(wp_site: WordPressSite) -> None:
    wp_site.add_post(f"Route {unique()}", "x")

    pretty = get(wp_site, "/wp-json/wp/v2/posts", per_page=3)
    plain = get(wp_site, "/", rest_route="/wp/v2/posts", per_page=3)

    assert pretty.status_code == plain.status_code == 200
    assert pretty.headers["content-type"] == plain.headers["content-type"]
    assert pretty.headers["content-type"] == "application/json; charset=UTF-8"
    assert ids(pretty) == ids(plain)
    assert pretty.headers["X-WP-Total"] == plain.headers["X-WP-Total"]
    assert get(wp_site, "/wp-json").status_code == 200
