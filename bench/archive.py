"""A static copy of an asean.org-like news archive, written to a directory as a web server
would serve it: N release pages in asean.org's Elementor markup (title widget, date linked to
the day archive, body widget, a "latest news" sidebar and a site-wide footer around them), the
category listing that leads to them (WordPress's ten items a page, newest first), robots.txt.

The releases' publication dates spread evenly over five years, the newest a couple of days
old; every file is dated two days back, as on a settled archive. The benchmark's phases change
it: `change_sidebar()` rewrites the sidebar and footer of every page (nothing a release is made
of), `edit_bodies()` changes one sentence in 1% of the releases; the simulated day plants
edits (`edit()`), a removal (`remove()`) and news (`publish()`). A file rewritten is dated a
couple of minutes before its change, one second past the previous change at least, so that its
ETag and Last-Modified always move.
"""

from __future__ import annotations

import html
import math
import os
import random
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

PER_LISTING = 10  # WordPress's default posts per page
LISTING = "/category/news/"
SITE_NAME = "ASEAN Main Portal"

PARTNERS = (
    "Australia", "Canada", "China", "the European Union", "India", "Japan", "New Zealand",
    "the Republic of Korea", "the Russian Federation", "the United Kingdom", "the United States",
    "Timor-Leste", "the Gulf Cooperation Council", "Switzerland", "Norway", "Türkiye",
)  # fmt: skip
CITIES = (
    "Jakarta", "Manila", "Vientiane", "Ha Noi", "Kuala Lumpur", "Bangkok", "Phnom Penh",
    "Bandar Seri Begawan", "Singapore", "Nay Pyi Taw",
)  # fmt: skip
MEETINGS = (
    "Senior Officials' Meeting", "Joint Cooperation Committee Meeting", "Ministerial Meeting",
    "Dialogue", "Consultations", "Working Group Meeting", "Leaders' Summit",
)  # fmt: skip
SENTENCES = (
    "The ASEAN-{short} {meeting} convened today in {city}, co-chaired by the Deputy "
    "Secretary-General of ASEAN and the Senior Official of {partner}.",
    "The Meeting reviewed the progress of cooperation under the Plan of Action {year}-{year5} "
    "and exchanged views on regional and international developments.",
    "Both sides reaffirmed their commitment to strengthening the ASEAN-led regional "
    "architecture, underpinned by openness, transparency, inclusivity and a rules-based approach.",
    "The Meeting welcomed the adoption of {count} new projects in areas such as trade, "
    "connectivity, energy, digital transformation and people-to-people exchanges.",
    "{partner} reiterated its support for ASEAN Centrality and for the ASEAN Outlook on the "
    "Indo-Pacific, and looked forward to further practical cooperation in its four priority areas.",
    "The Meeting noted with appreciation the contribution of {partner} to the ASEAN Cooperation "
    "Fund, which has supported {count} activities since its establishment.",
    "Views were exchanged on maritime cooperation, including maritime safety and security, "
    "freedom of navigation and overflight, and the peaceful settlement of disputes.",
    "The Meeting discussed preparations for the {ordinal} ASEAN Summit and Related Summits to be "
    "held in {city} later this year.",
    "Participants underlined the importance of narrowing the development gap and of supporting "
    "the Initiative for ASEAN Integration Work Plan through capacity-building programmes.",
    "The Meeting agreed to explore cooperation on public health emergencies, climate change, "
    "disaster management and the circular economy.",
    "The Secretary-General of ASEAN thanked {partner} for hosting the {ordinal} meeting of the "
    "Joint Working Group and for its continued engagement with the ASEAN Secretariat.",
    "Both sides looked forward to the full and effective implementation of the Regional "
    "Comprehensive Economic Partnership Agreement for all its Parties.",
    "The Meeting also took note of the {count} scholarships offered to young professionals from "
    "ASEAN Member States for the academic year {year5}.",
    "Delegations exchanged views on the situation in the region and called for constructive "
    "dialogue among all parties concerned.",
    "The Meeting tasked the Joint Cooperation Committee to report on the outcomes of the review "
    "at its next meeting in {year5}.",
    "ASEAN and {partner} agreed to deepen cooperation on cybersecurity, the digital economy and "
    "the protection of personal data.",
)
ANNEX_EVERY = 20  # one release in this many links a PDF (the revisit policy's days)
ANNEX_EDIT = "Addendum {n}: the Parties agreed to review this annex at their next meeting."
EDIT = " The Meeting also agreed to convene its next session in {city} in {year5}."


@dataclass
class Release:
    number: int
    slug: str
    title: str
    published: datetime
    paragraphs: list[str]
    edits: int = 0  # how many times edit_bodies changed it
    annex: str = ""  # the path of the PDF its body links to, if any
    annex_edits: int = 0

    @property
    def path(self) -> str:
        return f"/{self.slug}/"


SPAN = timedelta(days=5 * 365)  # from the oldest release to the newest
NEWEST_AGE = timedelta(days=2)
SETTLED = 120  # seconds between a change and the date its files are given


def newest_date() -> datetime:
    """When the newest release of an archive built now was published: a couple of days ago."""
    return (datetime.now(UTC) - NEWEST_AGE).replace(second=0, microsecond=0)


def publication_date(number: int, total: int, newest: datetime) -> datetime:
    """Release `number` of `total` (0 the oldest): evenly spread over SPAN, up to `newest`."""
    step = SPAN / max(total - 1, 1)
    return newest - step * (total - 1 - number)


def make_release(number: int, published: datetime) -> Release:
    """Release `number` (from 0): a title, a dateline and eight paragraphs of about 3.5 KB
    drawn from the sentences above."""
    rng = random.Random(number)
    partner, city, meeting = rng.choice(PARTNERS), rng.choice(CITIES), rng.choice(MEETINGS)
    short = partner.removeprefix("the ")
    title = f"ASEAN-{short} {meeting} convenes in {city} ({number + 1})"
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = "-".join(re.findall(r"[a-z0-9]+", ascii_title.lower()))
    values = {
        "partner": partner,
        "short": short,
        "city": city,
        "meeting": meeting,
        "year": str(2020 + number % 6),
        "year5": str(2025 + number % 6),
        "count": str(rng.randint(3, 140)),
        "ordinal": f"{rng.randint(20, 49)}th",
    }
    sentences = [s.format(**values) for s in SENTENCES[1:]]
    sentences = [s[0].upper() + s[1:] for s in sentences]
    rng.shuffle(sentences)
    lead = f"{city.upper()}, {published:%d %B %Y} -- " + SENTENCES[0].format(**values)
    paragraphs = [lead] + [" ".join(sentences[i : i + 2]) for i in range(0, 15, 2)]
    return Release(number, slug, title, published, paragraphs)


@dataclass
class Archive:
    """The archive's content, and the files that serve it under `root`."""

    root: Path
    releases: list[Release] = field(default_factory=list)
    sidebar_version: int = 0
    base: str = ""  # the server's address, in every link: http://127.0.0.1:PORT
    # files are dated two days back, then each phase one second past the previous at least
    dated: float = field(default_factory=lambda: float(int(time.time()) - 2 * 86_400))

    @classmethod
    def build(cls, root: Path, pages: int, base: str, newest: datetime | None = None) -> Archive:
        newest = newest or newest_date()
        releases = [make_release(n, publication_date(n, pages, newest)) for n in range(pages)]
        archive = cls(root=root, base=base, releases=releases)
        archive.write_all()
        return archive

    # -- the phases' changes -------------------------------------------------------------------

    def change_sidebar(self) -> int:
        """A new "latest news" sidebar and footer on every page (listing pages too): changes
        that are not part of any release. Returns the number of release changes made: 0."""
        self.sidebar_version += 1
        self.write_all(self._next_date())
        return 0

    def edit_bodies(self, share: float = 0.01) -> int:
        """One sentence added to `share` of the releases (one at least), spread over the
        archive; returns how many were edited."""
        count = max(1, round(len(self.releases) * share))
        step = len(self.releases) / count
        when = self._next_date()
        for index in range(count):
            self.edit(self.releases[int(index * step + step / 2)], when)
        return count

    def edit(self, release: Release, when: float | None = None) -> None:
        """One sentence added to the body of `release`."""
        release.edits += 1
        rng = random.Random(release.number * 7 + release.edits)
        release.paragraphs[2] += EDIT.format(city=rng.choice(CITIES), year5=2026 + release.edits)
        self._write(release.path, self.article(release), when or self._next_date())

    def attach_documents(self, every: int = ANNEX_EVERY) -> int:
        """A PDF annex linked from the body of one release in `every` (asean.org links its
        joint statements' and declarations' PDFs so); returns how many."""
        when = self._next_date()
        attached = [r for r in self.releases if r.number % every == 0]
        for release in attached:
            release.annex = f"/wp-content/uploads/{release.published:%Y/%m}/{release.slug}.pdf"
            self._write(release.annex, self.annex_pdf(release), when)
            self._write(release.path, self.article(release), when)
        return len(attached)

    def edit_document(self, release: Release) -> None:
        """A sentence added to the release's PDF, behind an unchanged page (a media file
        replaced in WordPress leaves its post as it was)."""
        release.annex_edits += 1
        self._write(release.annex, self.annex_pdf(release), self._next_date())

    def annex_pdf(self, release: Release) -> bytes:
        from tests.pdfs import text_pdf

        lines = [f"Annex to: {release.title}", *release.paragraphs[1:4]]
        lines += [ANNEX_EDIT.format(n=n + 1) for n in range(release.annex_edits)]
        return text_pdf(lines)

    def remove(self, release: Release) -> None:
        """The release's page deleted (404) and the release gone from the listing."""
        self.releases.remove(release)
        page = self._file(release.path)
        page.unlink()
        page.parent.rmdir()  # else nginx answers 403 (a directory without an index)
        self._write_listings(self._next_date())

    def publish(self, published: datetime) -> Release:
        """A new release at the top of the listing. The other pages' sidebars are not
        rewritten: a site's page cache keeps them as they were."""
        release = make_release(max(r.number for r in self.releases) + 1, published)
        self.releases.append(release)
        when = self._next_date()
        self._write(release.path, self.article(release), when)
        self._write_listings(when)
        return release

    # -- files -----------------------------------------------------------------------------------

    def listing_pages(self) -> int:
        return max(1, math.ceil(len(self.releases) / PER_LISTING))

    def listing_path(self, page: int) -> str:
        return LISTING if page == 1 else f"{LISTING}page/{page}/"

    def release_paths(self) -> set[str]:
        return {release.path for release in self.releases}

    def write_all(self, when: float | None = None) -> None:
        when = self.dated if when is None else when
        self._write("/robots.txt", b"User-agent: *\nDisallow: /wp-admin/\n", when)
        for page in range(1, self.listing_pages() + 1):
            self._write(self.listing_path(page), self.listing(page), when)
        for release in self.releases:
            self._write(release.path, self.article(release), when)

    def _write_listings(self, when: float) -> None:
        """The listing pages whose items moved (a page left as it was keeps its date); a page
        past the new end is deleted."""
        for page in range(1, self.listing_pages() + 1):
            body = self.listing(page)
            target = self._file(self.listing_path(page))
            if not target.exists() or target.read_bytes() != body:
                self._write(self.listing_path(page), body, when)
        self._file(self.listing_path(self.listing_pages() + 1)).unlink(missing_ok=True)

    def _next_date(self) -> float:
        """A change's date: a second past the previous one at least, and a couple of minutes
        back. A page served within a minute of its change has a weak Last-Modified (RFC 9110,
        8.8.2.2), whose validators the watcher does not keep; on a real site the next check
        comes minutes after a change, not within the same second."""
        self.dated = max(self.dated + 1, float(int(time.time())) - SETTLED)
        return self.dated

    def _file(self, path: str) -> Path:
        target = self.root / path.lstrip("/")
        return target / "index.html" if path.endswith("/") else target

    def _write(self, path: str, body: bytes, when: float) -> None:
        target = self._file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        os.utime(target, (when, when))

    # -- markup (asean.org's Elementor theme, as tests/sim/pages.py renders it) -----------------

    def article(self, release: Release) -> bytes:
        day = release.published
        title = html.escape(release.title, quote=False)
        body = "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in release.paragraphs)
        if release.annex:
            body += f'\n<p>Documents: <a href="{self.base}{release.annex}">Annex</a></p>'
        main = f"""<div class="breadcrumb"><a href="{self.base}/">Home</a> <a href="{self.base}/category/news-events/">News &amp; Events</a> <a href="{self.base}{LISTING}">News</a></div>
<div class="elementor-element elementor-element-b369dd8 elementor-widget elementor-widget-theme-post-title elementor-page-title elementor-widget-heading">
<div class="elementor-widget-container"><h2 class="elementor-heading-title elementor-size-default">{title}</h2></div></div>
<div class="elementor-element elementor-element-f86aebc elementor-widget elementor-widget-post-info"><div class="elementor-widget-container">
<ul class="elementor-inline-items elementor-icon-list-items elementor-post-info">
<li class="elementor-icon-list-item elementor-repeater-item-ca9fc7d elementor-inline-item" itemprop="datePublished"><a href="{self.base}/{day:%Y/%m/%d}/"><span class="elementor-icon-list-text elementor-post-info__item elementor-post-info__item--type-date">{day.day} {day:%B %Y}</span></a></li>
</ul></div></div>
<div class="elementor-element elementor-widget elementor-widget-theme-post-content"><div class="elementor-widget-container">
{body}
</div></div>"""
        post_id = release.number + 100
        head = (
            f"<link rel='shortlink' href='{self.base}/?p={post_id}' />"
            f'<meta property="article:published_time" content="{day.isoformat()}" />'
        )
        return self._page(
            main,
            title=f"{title} - {SITE_NAME}",
            body_class=f"post-template-default single single-post postid-{post_id}",
            head=head,
        )

    def listing(self, page: int) -> bytes:
        newest_first = self.releases[::-1]
        chunk = newest_first[(page - 1) * PER_LISTING : page * PER_LISTING]
        items = "".join(
            '<article class="post type-post status-publish category-news">\n'
            f'<a href="{self.base}{r.path}">{html.escape(r.title, quote=False)}</a>\n</article>\n'
            for r in chunk
        )
        nav = ""
        if page < self.listing_pages():
            nav = (
                '<nav class="elementor-pagination"><a class="page-numbers next" '
                f'href="{self.base}{self.listing_path(page + 1)}">Next &raquo;</a></nav>'
            )
        title = "News Archives" + (f" - Page {page}" if page > 1 else "")
        return self._page(
            f'<div class="elementor-widget-container">{items}</div>{nav}',
            title=f"{title} - {SITE_NAME}",
            body_class="archive category category-news",
        )

    def _page(self, main: str, *, title: str, body_class: str, head: str = "") -> bytes:
        version = self.sidebar_version
        # the sidebar lists the five newest releases, or after a change a selection of others
        latest = self.releases[::-1][version * 7 : version * 7 + 5] or self.releases[:5]
        note = "Latest News" if version == 0 else f"Latest News and Updates ({version})"
        sidebar = "".join(
            f'<li><a href="{self.base}{r.path}">{html.escape(r.title, quote=False)}</a></li>'
            for r in latest
        )
        footer = (
            "ABOUT ASEAN: The Association of Southeast Asian Nations was established on "
            f"8 August 1967. Copyright {2024 + version} ASEAN Secretariat."
        )
        menu = "".join(
            f'<li class="menu-item"><a href="{self.base}/">{m}</a></li>'
            for m in ("Home", "About ASEAN", "What We Do", "News &amp; Events")
        )
        return f"""<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="UTF-8"><title>{title}</title>{head}
<script>var elementorFrontendConfig = {{"version":"3.8.1","urls":{{"assets":"{self.base}/wp-content/plugins/elementor/assets/"}}}};</script>
</head>
<body class="{body_class}">
<header class="elementor elementor-location-header"><div class="elementor-widget-container">
<p class="site-description">One Vision, One Identity, One Community</p>
<nav class="elementor-nav-menu"><ul>{menu}</ul></nav></div></header>
<div class="elementor-section-wrap">
{main}
<aside class="elementor-widget-container latest-news"><h3>{note}</h3><ul>{sidebar}</ul></aside>
</div>
<footer class="elementor elementor-location-footer"><div class="elementor-widget-container"><p>{footer}</p></div></footer>
</body>
</html>
""".encode()
