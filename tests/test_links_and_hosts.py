"""Odd links, other hosts, credentials and titles: a listing's `javascript:` links, feed items
and redirects leading to other hosts (an internal address among them), robots.txt of a
redirect's host, passwords in URLs, titles read as their format defines them, feeds that
cannot be written."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers import run_watcher, wordpress_source, write_config
from tests.sim.model import Request, Response
from tests.sim.wordpress import SimWordPress
from tests.staticsite import StaticSite, article, rss
from watcher.app import App
from watcher.models import ChangeKind, CheckStatus

SECRET = "s3cr3t-Pa55"


@pytest.fixture
def static() -> Iterator[StaticSite]:
    with StaticSite() as site:
        yield site


@pytest.fixture
def internal() -> Iterator[StaticSite]:
    """What must never be read through a feed: a service on another port of the machine."""
    with StaticSite() as site:
        site.html("/admin/", article("Internal dashboard", "The database password is hunter2."))
        yield site


def host(site: StaticSite | SimWordPress) -> str:
    return urlsplit(site.url).netloc


def feed(site: StaticSite, path: str = "/feed/", **extra: Any) -> dict[str, Any]:
    return {"name": "f", "type": "feed", "url": f"{site.url}{path}", **extra}


# -- 9. javascript: links ---------------------------------------------------------------------


def test_javascript_links_in_a_listing_are_skipped(
    static: StaticSite, make_app: Callable[..., App]
) -> None:
    static.html(
        "/news/",
        "<html><body>"
        "<article><h2><a href='/one/'>One</a></h2></article>"
        "<article><h2><a href='javascript:window.print()'>Print</a></h2></article>"
        "<article><h2><a href='mailto:press@example.org'>Write to us</a></h2></article>"
        "<a class='next page-numbers' href='javascript:void(0)'>Load more</a>"
        "</body></html>",
    )
    static.html("/one/", article("One", "The first release."))
    app = make_app(
        [{"name": "news", "type": "html", "profile": "wordpress", "url": f"{static.url}/news/"}]
    )
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert [r.title for r in app.store.releases()] == ["One"]
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error


# -- 11. other hosts ----------------------------------------------------------------------


def test_feed_items_on_other_hosts_are_not_read(
    static: StaticSite, internal: StaticSite, make_app: Callable[..., App]
) -> None:
    static.xml(
        "/feed/",
        rss([("Ours", f"{static.url}/ours/"), ("Theirs", f"{internal.url}/admin/")]),
    )
    static.html("/ours/", article("Ours", "Our release."))
    app = make_app([feed(static)])
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert [r.title for r in app.store.releases()] == ["Ours"]
    assert internal.paths() == []  # never asked
    assert any(f"1 item(s) on other hosts not read ({host(internal)})" in n for n in result.notes)
    assert "hunter2" not in (app.config.feeds_dir / "all.atom").read_text()


def test_follow_hosts_lets_a_feed_read_a_partner_site(
    static: StaticSite, internal: StaticSite, make_app: Callable[..., App]
) -> None:
    static.xml("/feed/", rss([("Theirs", f"{internal.url}/admin/")]))
    app = make_app([feed(static, follow_hosts=[host(internal)])])
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert [r.title for r in app.store.releases()] == ["Internal dashboard"]


def test_a_redirect_to_another_host_is_not_followed(
    static: StaticSite, internal: StaticSite, make_app: Callable[..., App]
) -> None:
    static.xml("/feed/", rss([("Ours", f"{static.url}/ours/"), ("Moved", f"{static.url}/x/")]))
    static.html("/ours/", article("Ours", "Our release."))
    static.redirect("/x/", f"{internal.url}/admin/")
    app = make_app([feed(static)])
    [result] = app.check()
    assert [r.title for r in app.store.releases()] == ["Ours"]
    assert internal.paths() == []
    assert f"redirected to another host ({host(internal)}, not in follow_hosts)" in (
        result.error or ""
    )


def test_a_redirect_within_the_site_is_followed(
    static: StaticSite, make_app: Callable[..., App]
) -> None:
    static.xml("/feed/", rss([("Moved", f"{static.url}/old-slug/")]))
    static.redirect("/old-slug/", "/new-slug/")
    static.html("/new-slug/", article("Moved", "A release whose slug changed."))
    app = make_app([feed(static)])
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    [release] = app.store.releases()
    assert release.url == f"{static.url}/new-slug/"


def test_a_wordpress_link_on_another_host_becomes_the_post_s_own_address(
    site: SimWordPress, internal: StaticSite, make_app: Callable[..., App]
) -> None:
    post = site.add_post("A release", "Its text.")

    def foreign_links(request: Request, response: Response) -> Response:
        status, headers, body = response
        if request.path != "/wp-json/wp/v2/posts" or status != 200:
            return response
        data = [
            {**p, "link": f"{internal.url}/admin/"} if isinstance(p, dict) and "link" in p else p
            for p in json.loads(body)
        ]
        return status, headers, json.dumps(data).encode()

    site.tamper = foreign_links
    app = make_app([wordpress_source(site)])
    app.check()
    [release] = app.store.releases()
    assert release.url == f"{site.url}/?p={post}"


# -- 12. robots.txt of a redirect's host ------------------------------------------------------


def test_robots_txt_of_a_redirect_s_target_host_is_honoured(
    static: StaticSite, internal: StaticSite, make_app: Callable[..., App]
) -> None:
    internal.pages["/robots.txt"] = (
        200,
        {"Content-Type": "text/plain"},
        b"User-agent: *\nDisallow: /admin/\n",
    )
    static.xml("/feed/", rss([("Ours", f"{static.url}/ours/"), ("Moved", f"{static.url}/x/")]))
    static.html("/ours/", article("Ours", "Our release."))
    static.redirect("/x/", f"{internal.url}/admin/")
    app = make_app([feed(static, follow_hosts=[host(internal)])])
    [result] = app.check()
    assert "disallowed by robots.txt" in (result.error or "")
    assert internal.paths() == ["/robots.txt"]
    assert [r.title for r in app.store.releases()] == ["Ours"]


# -- 8. credentials ------------------------------------------------------------------------


@pytest.mark.slow
def test_credentials_in_a_source_url_are_refused_without_showing_them(tmp_path: Path) -> None:
    url = f"http://editor:{SECRET}@127.0.0.1:9/news/"
    config = write_config(tmp_path, [{"name": "x", "type": "html", "profile": "asean", "url": url}])
    result = run_watcher("config", "check", config=config)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "sources[0].url" in line
    assert "has a user name or password in it" in line
    assert "http.auth" in line
    assert SECRET not in result.stdout + result.stderr
    assert "editor" not in line


@pytest.mark.slow
def test_http_auth_is_sent_to_the_source_s_host_only_and_never_shown(
    static: StaticSite, internal: StaticSite, tmp_path: Path
) -> None:
    static.xml("/feed/", rss([("Ours", f"{static.url}/ours/"), ("Theirs", f"{internal.url}/p/")]))
    static.html("/ours/", article("Ours", "Our release."))
    internal.html("/p/", article("Theirs", "A partner's release."))
    auth = {"username": "editor", "password_env": "PRIVATE_FEED_PASSWORD"}
    source = feed(static, follow_hosts=[host(internal)], http={"auth": auth})
    config = write_config(tmp_path, [source])

    unset = run_watcher("config", "check", config=config)
    assert unset.returncode == 2
    assert "environment variable PRIVATE_FEED_PASSWORD is not set" in unset.stderr

    env = {"PRIVATE_FEED_PASSWORD": SECRET}
    outputs = []
    for command in (["config", "check"], ["-v", "check"], ["status"], ["releases", "--json"]):
        result = run_watcher(*command, config=config, env=env)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    expected = "Basic " + base64.b64encode(f"editor:{SECRET}".encode()).decode()
    assert {h.get("Authorization") for _, h in static.hits} == {expected}
    assert {h.get("Authorization") for _, h in internal.hits} == {None}
    feeds = "".join(p.read_text() for p in (tmp_path / "state" / "feeds").glob("*.*"))
    for shown in [*outputs, feeds]:
        assert SECRET not in shown
        assert base64.b64encode(f"editor:{SECRET}".encode()).decode() not in shown


# -- 6. titles, whichever path reads them ---------------------------------------------------

TITLES = (
    "Tom &lt;tom@example.org&gt; resigns",
    "Use &lt;b&gt; for bold, &lt;i&gt;italics&lt;/i&gt;",
    "ASEAN &amp; Japan: 50 years",
)


def test_switching_from_the_rest_api_to_feeds_never_edits_a_title(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    for title in TITLES:
        site.add_post(title, "The text.")
    app = make_app([wordpress_source(site)])
    app.check()
    by_api = sorted(r.title for r in app.store.releases())
    assert "Tom <tom@example.org> resigns" in by_api

    site.set_api("forbidden")
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert any("REST API unavailable" in note for note in result.notes)
    assert not result.changed
    assert sorted(r.title for r in app.store.releases()) == by_api


def test_an_atom_title_is_read_as_its_type_says(
    static: StaticSite, make_app: Callable[..., App]
) -> None:
    entries = (
        ("text", "Use &lt;b&gt; for bold", "Use <b> for bold"),
        ("html", "ASEAN &lt;b&gt;and&lt;/b&gt; Japan", "ASEAN and Japan"),
    )
    static.pages["/atom/"] = (
        200,
        {"Content-Type": "application/atom+xml"},
        (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>t</title><id>urn:x</id><updated>2026-01-01T00:00:00Z</updated>"
            + "".join(
                f'<entry><title type="{kind}">{title}</title><id>urn:{n}</id>'
                f'<link href="{static.url}/{n}/"/><updated>2026-01-01T00:00:00Z</updated>'
                f"<content type='html'>Text {n}.</content></entry>"
                for n, (kind, title, _) in enumerate(entries)
            )
            + "</feed>"
        ).encode(),
    )
    app = make_app([feed(static, "/atom/", follow=False)])
    app.check()
    assert sorted(r.title for r in app.store.releases()) == sorted(e[2] for e in entries)


# -- 7. a malformed feed item among good ones -------------------------------------------------


def test_a_malformed_feed_item_fails_alone(
    static: StaticSite, make_app: Callable[..., App]
) -> None:
    static.pages["/atom/"] = (
        200,
        {"Content-Type": "application/atom+xml"},
        (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>t</title><id>urn:x</id><updated>2026-01-01T00:00:00Z</updated>"
            f'<entry><title type="html">&lt;html lang=en&gt;</title><id>urn:1</id>'
            f'<link href="{static.url}/1/"/><content type="html">One.</content></entry>'
            f"<entry><title>Good</title><id>urn:2</id>"
            f'<link href="{static.url}/2/"/><content type="html">&lt;!doctype html&gt;</content>'
            "</entry>"
            f"<entry><title>Fine</title><id>urn:3</id>"
            f'<link href="{static.url}/3/"/><content type="html">Three.</content></entry>'
            "</feed>"
        ).encode(),
    )
    app = make_app([feed(static, "/atom/", follow=False)])
    [result] = app.check()
    assert result.status == CheckStatus.OK, result.error
    assert result.failed_items == 2
    assert result.count(ChangeKind.NEW) == 1
    assert [r.title for r in app.store.releases()] == ["Fine"]
    assert any("2 item(s) failed, the others were read" in note for note in result.notes)


# -- 10. feeds that cannot be written ----------------------------------------------------------


def test_a_feed_that_cannot_be_written_stops_nothing_and_is_written_later(
    site: SimWordPress, make_app: Callable[..., App], caplog: pytest.LogCaptureFixture
) -> None:
    site.add_post("First", "Text.")
    other = {**wordpress_source(site), "name": "second"}
    app = make_app([wordpress_source(site), other])
    feeds = app.config.feeds_dir
    feeds.parent.mkdir(parents=True, exist_ok=True)
    feeds.write_text("a file where the feeds' directory should be")

    results = app.check()
    assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.OK]  # both checked
    assert all(r.count(ChangeKind.NEW) == 1 for r in results)
    assert "feeds not written, tried again after the next check" in caplog.text
    assert app.feeds_stale

    feeds.unlink()
    [result] = app.check(["second"])
    assert not result.changed  # nothing new, but the feeds were stale: written now
    assert "First" in (feeds / "all.atom").read_text()
    assert not app.feeds_stale


@pytest.mark.slow
def test_watcher_check_reports_feeds_it_could_not_write(site: SimWordPress, tmp_path: Path) -> None:
    site.add_post("First", "Text.")
    config = write_config(tmp_path, [wordpress_source(site)])
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "feeds").write_text("not a directory")
    result = run_watcher("check", config=config)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "the feeds could not be written" in result.stderr
    assert " ok " in result.stdout  # the check itself went through, and its table is shown
    build = run_watcher("feeds", "build", config=config)
    assert build.returncode == 1
    assert "Traceback" not in build.stderr
    assert "the feeds could not be written" in build.stderr
