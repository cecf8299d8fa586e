"""A corpus of releases and their re-posts across sites, for `watcher.copies` (seeded, deterministic).

The Secretariat's releases are generated from the structure of real ones: a meeting of a series
("the 16th ASEAN-Russia Senior Officials' Meeting"), with a dialogue partner, an ordinal, a date,
a city, co-chairs and figures, written in the formulaic language of the real releases ("The
Meeting reaffirmed ...", "ASEAN Member States welcomed ..."). Around them:

- a ministry site re-posts a share of them the way such sites do: the headline's case changed or
  a prefix added, its title and date again above the text, "Source: ASEAN Secretariat", another
  date format in the dateline, paragraphs rejoined or re-wrapped, straight quotes, furniture
  lines ("Travel Page", "Share this page");
- the ASEAN Chair's site re-posts a few of those too: stories of three;
- some origins are edited after the ministry copied them (one figure changed): still copies;
- siblings: the next meeting of a series, from the same template (shares most of its text,
  differs in ordinal, date, year, city and some figures): never copies;
- in the same week, the same kind of meeting with every other partner (ASEAN holds its
  Post-Ministerial Conferences back to back): never copies;
- the real re-post in tests/fixtures/asean/ (REAL: the Singapore foreign ministry's copy of
  "ASEAN, Russia commit to deepen cooperation"), against the Secretariat's version of it,
  RECONSTRUCTED below from that text (the body as the ministry copied it, without its furniture).

`Corpus.copies` are the pairs that must be linked; every other pair must not be.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import combinations

from tests.helpers import FIXTURES
from watcher.copies import Release, Story

SECRETARIAT, MINISTRY, CHAIR = "asean", "mfa", "chair"
SOURCE_ORDER = {SECRETARIAT: 0, MINISTRY: 1, CHAIR: 2}
FROZEN_SEED = 1  # the corpus the thresholds were chosen on, and the tests assert on

REAL_REPOST = (FIXTURES / "asean" / "release-asean-russia-2019-mfa-repost.txt").read_text("utf-8")
# RECONSTRUCTED: the Secretariat's release as the ministry's copy (REAL_REPOST) shows it, without
# the ministry's furniture (its title and date repeated, the "Source:" line, "Travel Page").
REAL_ORIGIN_TITLE = "ASEAN, Russia commit to deepen cooperation"
REAL_ORIGIN_TEXT = "\n\n".join(
    paragraph
    for paragraph in REAL_REPOST.split("\n\n")[4:]
    if paragraph.strip() not in ("", "Travel Page")
)
REAL_PUBLISHED = datetime(2019, 2, 21, 9, 0, tzinfo=UTC)

PARTNERS = {
    # name in titles, adjective, long name, fund or plan named in the text
    "Russia": (
        "Russian",
        "the Russian Federation",
        "ASEAN-Russia Dialogue Partnership Financial Fund",
    ),
    "China": ("Chinese", "the People’s Republic of China", "ASEAN-China Cooperation Fund"),
    "Japan": ("Japanese", "Japan", "Japan-ASEAN Integration Fund"),
    "EU": ("European", "the European Union", "ASEAN-EU Plan of Action"),
    "India": ("Indian", "the Republic of India", "ASEAN-India Cooperation Fund"),
    "Korea": ("Korean", "the Republic of Korea", "ASEAN-Korea Cooperation Fund"),
    "Australia": ("Australian", "Australia", "Aus4ASEAN Futures Initiative"),
    "New Zealand": ("New Zealand", "New Zealand", "ASEAN-New Zealand Plan of Action"),
    "Canada": ("Canadian", "Canada", "ASEAN-Canada Plan of Action"),
    "United States": ("American", "the United States", "ASEAN-US Plan of Action"),
}
KINDS = {
    "SOM": "Senior Officials’ Meeting",
    "JCC": "Joint Cooperation Committee Meeting",
    "PMC": "Post-Ministerial Conference",
    "Summit": "Summit",
}
CITIES = [
    ("Jakarta", "Indonesia"), ("Bali", "Indonesia"), ("Bangkok", "Thailand"),
    ("Ha Noi", "Viet Nam"), ("Da Nang", "Viet Nam"), ("Manila", "the Philippines"),
    ("Kuala Lumpur", "Malaysia"), ("Singapore", "Singapore"), ("Vientiane", "Lao PDR"),
    ("Phnom Penh", "Cambodia"), ("Siem Reap", "Cambodia"), ("Bandar Seri Begawan", "Brunei Darussalam"),
    ("Nay Pyi Taw", "Myanmar"), ("Dili", "Timor-Leste"), ("Cebu", "the Philippines"),
]  # fmt: skip
AREAS = [
    "science and technology", "energy", "connectivity", "education", "public health",
    "trade and investment", "combating transnational crime", "disaster management",
    "the digital economy", "food security", "climate change", "maritime cooperation",
    "people-to-people exchanges", "smart cities", "cybersecurity", "tourism",
]  # fmt: skip
FIRST = ["Jose", "Maria", "Nguyen", "Somsak", "Ahmad", "Siti", "Igor", "Wei", "Hiroshi", "Anna",
         "Rajesh", "Min-jun", "Sarah", "Daniel", "Ly", "Kyaw", "Dato", "Elena", "Tomas", "Aung"]  # fmt: skip
LAST = ["Tavares", "Santos", "Van Hung", "Chaiyaporn", "Rahman", "Nurhaliza", "Morgulov", "Zhang",
        "Tanaka", "Schmidt", "Kumar", "Park", "Wilson", "Lee", "Sok", "Thant", "Ibrahim", "Petrova"]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]  # fmt: skip

# Sentences of real releases' structure; {slots} are filled from the meeting. Each paragraph of
# a release picks two or three of one group, so that two releases share phrases, not paragraphs.
OPENINGS = [
    "The {nth} ASEAN-{p} {kind}, held on {day} {month} in {city}, {country}, reviewed the progress of ASEAN-{p} cooperation.",
    "The {nth} ASEAN-{p} {kind} convened on {day} {month} in {city}, {country}, and reported satisfactory progress in the implementation of the Plan of Action.",
    "Senior officials of ASEAN and {long} met on {day} {month} in {city}, {country}, for the {nth} ASEAN-{p} {kind}.",
]
PROGRESS = [
    "The Meeting noted that {pct} per cent of the action lines of the Plan of Action had been implemented.",
    "The Meeting reaffirmed the importance of the ASEAN-{p} partnership to peace, stability and prosperity in the region.",
    "The Meeting welcomed the {n1} cooperative projects completed under the {fund} since the last meeting.",
    "ASEAN Member States welcomed the contribution of USD {usd} million from {long} to the {fund}.",
    "The Meeting encouraged both sides to address the unimplemented measures through practical projects.",
    "{adj} officials expressed their commitment to deepen cooperation in the areas of {areas}.",
    "The Meeting agreed to explore new areas of cooperation, including {areas}.",
]
REGION = [
    "The Meeting also exchanged views on regional and international issues of mutual interest and concern.",
    "ASEAN senior officials appreciated {long}’s support for ASEAN centrality and the ASEAN-led mechanisms, including the ASEAN Regional Forum and the East Asia Summit.",
    "The Meeting discussed developments in the South China Sea and on the Korean Peninsula.",
    "Both sides underlined the importance of an open, inclusive and rules-based regional architecture.",
    "ASEAN Member States welcomed {long}’s support for the ASEAN Outlook on the Indo-Pacific.",
]
CLOSINGS = [
    "The {nth} ASEAN-{p} {kind} was co-chaired by {chair1}, and {chair2}.",
    "The Meeting was co-chaired by {chair1}, and {chair2}; senior officials of ASEAN Member States and the ASEAN Secretariat attended.",
    "The Meeting agreed that the {next} ASEAN-{p} {kind} will be held in {year1}.",
]
TITLES = [
    "{nth} ASEAN-{p} {kind} held in {city}",
    "ASEAN, {p} commit to deepen cooperation at the {nth} {kind}",
    "ASEAN and {p} review cooperation at {nth} {kind}",
    # titles that name no meeting number: the next meeting's release has the same title
    "ASEAN, {p} commit to deepen cooperation",
    "ASEAN and {p} review progress of cooperation",
]


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Meeting:
    """One meeting of a series, and the choices that write its release (a sibling keeps them)."""

    partner: str
    kind: str
    number: int
    date: datetime
    city: int
    chairs: tuple[str, str]
    figures: tuple[int, int, int]  # per cent, projects, USD million
    areas: tuple[str, ...]
    title: int
    sentences: tuple[tuple[int, ...], ...]  # per group, the sentences chosen

    def slots(self) -> dict[str, str]:
        adj, long, fund = PARTNERS[self.partner]
        city, country = CITIES[self.city]
        return {
            "nth": ordinal(self.number), "next": ordinal(self.number + 1), "p": self.partner,
            "kind": KINDS[self.kind], "day": str(self.date.day),
            "month": MONTHS[self.date.month - 1], "city": city, "country": country,
            "adj": adj, "long": long, "fund": fund,
            "pct": str(self.figures[0]), "n1": str(self.figures[1]), "usd": str(self.figures[2]),
            "areas": ", ".join(self.areas[:-1]) + " and " + self.areas[-1],
            "chair1": self.chairs[0], "chair2": self.chairs[1], "year1": str(self.date.year + 1),
        }  # fmt: skip

    def render(self) -> tuple[str, str]:
        """The Secretariat's title and text: a dateline, then paragraphs."""
        slots = self.slots()
        groups = (OPENINGS, PROGRESS, PROGRESS, REGION, CLOSINGS)
        paragraphs = [
            " ".join(group[i].format(**slots) for i in chosen)
            for group, chosen in zip(groups, self.sentences, strict=True)
        ]
        city = CITIES[self.city][0].upper()
        dateline = f"{city}, {self.date.day} {MONTHS[self.date.month - 1]} {self.date.year} – "
        paragraphs[0] = dateline + paragraphs[0]
        return TITLES[self.title].format(**slots), "\n\n".join(paragraphs)


def meeting(rng: random.Random, partner: str, kind: str, date: datetime) -> Meeting:
    def people() -> str:
        return f"{rng.choice(['Director-General', 'Deputy Minister', 'Ambassador', 'Permanent Secretary'])} {rng.choice(FIRST)} {rng.choice(LAST)}"

    # the progress paragraphs draw apart from one another: no sentence twice in one release
    progress = rng.sample(range(len(PROGRESS)), 5)
    return Meeting(
        partner=partner, kind=kind, number=rng.randint(2, 30), date=date,
        city=rng.randrange(len(CITIES)), chairs=(people(), people()),
        figures=(rng.randint(40, 95), rng.randint(5, 120), rng.randint(1, 50)),
        areas=tuple(rng.sample(AREAS, rng.randint(3, 6))), title=rng.randrange(len(TITLES)),
        sentences=(
            (rng.randrange(len(OPENINGS)),), tuple(progress[:2]), tuple(progress[2:]),
            tuple(sorted(rng.sample(range(len(REGION)), 2))),
            tuple(rng.sample(range(len(CLOSINGS)), 2)),
        ),
    )  # fmt: skip


def sibling(rng: random.Random, of: Meeting) -> Meeting:
    """The next meeting of the series, from the same template: the hard negative."""
    figures = list(of.figures)
    figures[rng.randrange(3)] += rng.randint(1, 9)
    return replace(
        of,
        number=of.number + 1,
        date=of.date + timedelta(days=rng.randint(330, 400)),
        city=(of.city + rng.randint(1, len(CITIES) - 1)) % len(CITIES),
        figures=(figures[0], figures[1], figures[2]),
    )


def edited(rng: random.Random, of: Meeting) -> Meeting:
    """The origin edited after the copy was made: one figure corrected."""
    figures = list(of.figures)
    figures[rng.randrange(3)] += rng.choice([-3, -2, -1, 1, 2, 3, 10])
    return replace(of, figures=(figures[0], figures[1], figures[2]))


# What re-posting does to a release
PREFIXES = ["Press Release: ", "ASEAN News: ", "Media Release - ", ""]
SOURCE_LINES = ["Source: ASEAN Secretariat", "Source:  ASEAN Secretariat News", "Source: asean.org"]
FURNITURE = ["Travel Page", "Share this page", "Back to top", "Print this page", "Related links"]


def repost_title(rng: random.Random, title: str) -> str:
    style = rng.randrange(5)
    if style == 0:
        return title.upper()
    if style == 1:
        return title.title()
    if style == 2:
        return title.lower().capitalize()
    return rng.choice(PREFIXES) + title


def repost_text(rng: random.Random, title: str, text: str, published: datetime) -> str:
    """The ministry's page: title and date again, a Source line, the text re-flowed, furniture."""
    body = text
    # another date format in the dateline, and a hyphen for its dash
    first, rest = body.split(" – ", 1)
    city = first.split(",", 1)[0]
    day, month, year = published.day, published.month, published.year
    formats = [
        f"{city}, {MONTHS[month - 1]} {day}, {year} -",
        f"{city.title()}, {day} {MONTHS[month - 1][:3]} {year} --",
        f"{city}, {day:02d}/{month:02d}/{year}:",
        f"{city}, {year}-{month:02d}-{day:02d} -",
        f"{city}, {day} {MONTHS[month - 1]} {year} –",
    ]
    body = rng.choice(formats) + " " + rest
    if rng.random() < 0.7:  # the site's editor straightens the quotes and dashes
        body = body.replace("’", "'").replace("–", "-")
    paragraphs = body.split("\n\n")
    style = rng.randrange(3)
    if style == 0:  # paragraphs rejoined two by two
        paragraphs = [" ".join(paragraphs[i : i + 2]) for i in range(0, len(paragraphs), 2)]
    elif style == 1:  # re-wrapped at a fixed width
        paragraphs = [textwrap.fill(paragraph, rng.randint(60, 100)) for paragraph in paragraphs]
    head = [title, f"{published.day} {MONTHS[published.month - 1][:3]} {published.year}"]
    head.append(rng.choice(SOURCE_LINES))
    tail = rng.sample(FURNITURE, rng.randint(0, 2))
    return "\n\n".join([*head, *paragraphs, *tail])


@dataclass(frozen=True)
class Corpus:
    releases: tuple[Release, ...]  # in the order a watcher would meet them (shuffled)
    copies: frozenset[frozenset[str]]  # every pair that must be linked
    siblings: frozenset[frozenset[str]]  # the next meeting of a series: must not be linked
    diverged: frozenset[str]  # re-posts whose origin's text was edited afterwards
    stories: tuple[frozenset[str], ...]  # releases that form one story, origin included


def repost(rng: random.Random, key: str, source: str, of: Meeting, days: int) -> Release:
    """A re-post of the meeting's release on another site, `days` or fewer after it."""
    title, text = of.render()
    when = of.date + timedelta(days=rng.randint(0, days), hours=rng.randint(1, 9))
    copy_text = repost_text(rng, title, text, of.date)
    return Release(key, source, SOURCE_ORDER[source], repost_title(rng, title), copy_text, when)


def secretariat(key: str, of: Meeting) -> Release:
    title, text = of.render()
    return Release(key, SECRETARIAT, SOURCE_ORDER[SECRETARIAT], title, text, of.date)


def _reposted(
    rng: random.Random,
    key: str,
    origin: Meeting,
    releases: list[Release],
    group: list[str],
    diverged: set[str],
) -> Release:
    """The ministry's re-post of `origin` (and maybe the Chair's) added; returns the
    Secretariat's release as it stands after them (edited afterwards, now and then)."""
    releases.append(repost(rng, f"{key}-mfa", MINISTRY, origin, 3))
    group.append(f"{key}-mfa")
    published = secretariat(key, origin)
    if rng.random() < 0.2:  # and the Secretariat edits a figure afterwards
        published = secretariat(key, edited(rng, origin))
    # the re-posts carry the old text, when the figure edited is one the text shows
    old_text = published.text != secretariat(key, origin).text
    if old_text:
        diverged.add(f"{key}-mfa")
    if rng.random() < 0.25:  # the Chair's site too: a story of three
        releases.append(repost(rng, f"{key}-chair", CHAIR, origin, 5))
        group.append(f"{key}-chair")
        if old_text:
            diverged.add(f"{key}-chair")
    return published


def generate(seed: int = FROZEN_SEED, meetings: int = 200, *, with_real: bool = True) -> Corpus:
    rng = random.Random(seed)
    releases: list[Release] = []
    groups: list[list[str]] = []
    siblings: set[frozenset[str]] = set()
    diverged: set[str] = set()
    start = datetime(2019, 1, 7, 3, 0, tzinfo=UTC)
    count = 0
    while count < meetings:
        # one week of meetings: one kind, with several partners back to back
        date = start + timedelta(days=rng.randrange(0, 6 * 365), hours=rng.randrange(8))
        kind = rng.choice(list(KINDS))
        for partner in rng.sample(list(PARTNERS), rng.randint(1, 4)):
            origin = meeting(rng, partner, kind, date + timedelta(days=rng.randint(0, 3)))
            key = f"s{count}"
            count += 1
            group = [key]
            published = secretariat(key, origin)
            if rng.random() < 0.5:  # the ministry re-posts it, within days
                published = _reposted(rng, key, origin, releases, group, diverged)
            releases.append(published)
            groups.append(group)
            if rng.random() < 0.3:  # next year's meeting of the series
                later = sibling(rng, origin)
                group = [f"s{count}"]
                count += 1
                releases.append(secretariat(group[0], later))
                if rng.random() < 0.5:  # the ministry re-posts that one too
                    releases.append(repost(rng, f"{group[0]}-mfa", MINISTRY, later, 1))
                    group.append(f"{group[0]}-mfa")
                siblings.update(frozenset((key, member)) for member in group)
                groups.append(group)
    if with_real:
        releases.append(
            Release("real", SECRETARIAT, 0, REAL_ORIGIN_TITLE, REAL_ORIGIN_TEXT, REAL_PUBLISHED)
        )
        repost_day = datetime(2019, 2, 21, 15, 0, tzinfo=UTC)
        releases.append(
            Release("real-mfa", MINISTRY, 1, REAL_ORIGIN_TITLE, REAL_REPOST, repost_day)
        )
        groups.append(["real", "real-mfa"])
    rng.shuffle(releases)
    copies = frozenset(frozenset(pair) for group in groups for pair in combinations(group, 2))
    stories = tuple(frozenset(group) for group in groups if len(group) >= 2)
    return Corpus(tuple(releases), copies, frozenset(siblings), frozenset(diverged), stories)


def linked_pairs(stories: list[Story]) -> frozenset[frozenset[str]]:
    """Every pair of releases the index put in one story."""
    return frozenset(
        frozenset(pair) for story in stories for pair in combinations(story.members, 2)
    )
