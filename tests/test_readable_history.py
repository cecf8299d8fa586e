"""The readable history end to end, as a user meets it: `watcher run` with its web pages, a
simulated asean.org whose joint statement is edited in its body and in its PDF annex, an
instant subscription on a real SMTP server, and a source that fails. The release's page shows
both versions and marks exactly the changed words; the feed entry and the mail say the same
summary and link to that page; a search finds the edited word; /sources shows the failure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx
import pytest

from tests.helpers import (
    DaemonProcess,
    email_settings,
    free_port,
    listening,
    wait_for,
    wordpress_source,
    write_config,
)
from tests.mailserver import MailServer, part
from tests.pdfs import text_pdf
from tests.sim.wordpress import SimWordPress

ANNEX = "/wp-content/uploads/2026/06/Annex.pdf"
TITLE = "Joint Statement of the ASEAN-Russia Foreign Ministers' Meeting"
PARAGRAPH = "ASEAN and Russia pledged USD {amount} million to the ASEAN-Russia Dialogue Fund."
ANNEX_LINE = "The Ministers agreed to meet next in {city}."
SUBSCRIPTION = {
    "name": "russia-now", "to": ["analyst@example.org"], "topics": ["russia"], "mode": "instant",
}  # fmt: skip
SUMMARY = "1 paragraph edited; 1 attachment edited; 1 figure changed: USD 5 million → USD 3 million"


def content(amount: int) -> str:
    return (
        f"{PARAGRAPH.format(amount=amount)}\n\n"
        "The Meeting took place in Vientiane.\n\n"
        f'Documents: <a href="{ANNEX}">Annex</a>'
    )


def annex(city: str) -> bytes:
    return text_pdf(["Annex to the Joint Statement", ANNEX_LINE.format(city=city)])


def marked(html: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}[^>]*>([^<]*)</{tag}>", html)


@pytest.mark.slow
def test_an_edit_in_body_and_pdf_is_shown_mailed_fed_and_found_alike(
    site: SimWordPress, smtp: MailServer, tmp_path: Path
) -> None:
    site.upload(ANNEX, annex("Hanoi"))
    post = site.add_post(TITLE, content(5))
    site.set_modified(post, datetime.now(UTC) - timedelta(minutes=1))
    port = free_port()
    failing = {
        "name": "ministry",
        "type": "html",
        "url": f"http://127.0.0.1:{free_port()}/news/",  # nothing listens there
        "profile": "asean",
        "every": "1s",
    }
    config = write_config(
        tmp_path,
        [wordpress_source(site, every="1s"), failing],
        **listening(port),
        topics={"russia": {"title": "ASEAN–Russia", "preset": "partner/russia"}},
        email=email_settings(smtp.port),
        subscriptions=[SUBSCRIPTION],
    )
    with DaemonProcess(config, port, tmp_path / "daemon.log") as daemon:
        # the first check of a source is its baseline: no entry, no mail
        wait_for(
            lambda: "check asean: ok, 1 new" in daemon.log_text(), timeout=60, what="a first check"
        )

        with site.lock:  # both at once: one edit, whatever moment a check comes
            site.edit_post(post, content=content(3))
            site.upload(ANNEX, annex("Manila"))
        wait_for(lambda: smtp.received, timeout=60, what="the mail of the edit")

        # the feed entry: the summary line, the original as its link, the page in its content
        feed = feedparser.parse(daemon.get("/feeds/all.atom").content)  # type: ignore[union-attr]
        [entry] = [e for e in feed.entries if e.title.startswith("Edited: ")]
        assert entry.link == site.link(post)
        page_urls = set(re.findall(rf"{daemon.base}/releases/\d+", entry.content[0].value))
        [page_url] = page_urls
        assert SUMMARY in entry.content[0].value

        # the mail says the same and links to the same page
        [received] = smtp.received
        mail = received.message
        shown_title = TITLE.replace("'", "’")  # as WordPress's texturize serves it
        assert str(mail["Subject"]) == f"[ASEAN–Russia] Edited: {shown_title}"
        assert SUMMARY in part(mail) and page_url in part(mail)
        assert "   The Ministers agreed to meet next in [-Hanoi-]{+Manila+}." in part(mail)
        assert SUMMARY in part(mail, "html") and page_url in part(mail, "html")

        # the page: both versions, and exactly the changed words marked, inline and side by side
        page = httpx.get(page_url, timeout=10)
        assert page.status_code == 200
        assert "version 1" in page.text.lower() and "version 2" in page.text.lower()
        diff = httpx.get(f"{page_url}?from=1&to=2", timeout=10).text
        assert SUMMARY in diff
        assert marked(diff, "del") == ["5", "Hanoi"] * 2
        assert marked(diff, "ins") == ["3", "Manila"] * 2

        # a search for a word of the edit finds the release; a word of no release, nothing
        release = page_url.rsplit("/", 1)[1]
        found = httpx.get(f"{daemon.base}/releases", params={"q": "Manila"}, timeout=10).text
        assert f'href="/releases/{release}"' in found
        nothing = httpx.get(f"{daemon.base}/releases", params={"q": "Lisbon"}, timeout=10).text
        assert f'href="/releases/{release}"' not in nothing

        # the failing source shows as failing, the other not
        sources = httpx.get(f"{daemon.base}/sources", timeout=10).text
        rows = re.findall(r'<tr class="(source[^"]*)">\s*<th scope="row">(\w+)', sources)
        assert {name: "failing" in classes.split() for classes, name in rows} == {
            "ministry": True,
            "asean": False,
        }
        assert daemon.stop() == 0
