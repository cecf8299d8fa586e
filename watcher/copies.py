"""Which releases are copies of one another across sources: pure matching, no I/O, no SQL.

A ministry re-posts a Secretariat release with a new headline case or a prefix ("Press Release:"),
a "Source: ASEAN Secretariat" line, a dateline in another date format, paragraphs re-wrapped and
its own page furniture around it. Matching therefore works on the *word sequence* of the folded
text (`watcher.topics.fold_for_match`), after dropping the dateline and the "Source:" lines:

1. candidates: 5-word shingles, a MinHash signature of each release (computed once per version)
   and locality-sensitive hashing: the signature cut into BANDS bands of ROWS values, each band
   hashed; two releases sharing a band hash are candidates. The band hashes are plain integers,
   so the database keeps them (store/copies.py) and a lookup is one indexed query;
2. verification of each candidate from another source: published within the window (on
   first-seen when a release has no date; neither, never linked); titles alike once folded and
   stripped of prefixes; body similarity at the threshold, exact on the shingle sets;
3. the hard negative: ASEAN releases are formulaic, and the next meeting of a series (the 17th
   ASEAN-Russia Senior Officials' Meeting after the 16th) shares most of its text with the last
   one. What tells them apart is what identifies a meeting: its ordinal, its dates and year, its
   figures, all *numbers*. A copy keeps every number of its origin, except when the origin was
   edited after the copy was made, and an edit changes one figure. So two releases are linked
   only when their titles carry the same numbers and the numbers of their texts differ by at
   most one replaced figure (`number_edits`); the sibling's ordinal, day and year are three.

Three or more copies form one story; its origin is the one published first, by the day (the
same day: the first in the order of the sources in the config), whatever order they were added
in.

The MinHash is datasketch's "affine32" scheme written out in numpy (a MurmurHash3 finish of each
shingle's CRC-32, then `a * h + b` modulo 2**32 with `a` odd): datasketch itself imports scipy,
55 MB and half a second more in the daemon, for the LSH parameters alone. numpy is imported only
where matching runs, so that importing this module costs nothing and the commands start fast.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from watcher.topics import fold_for_match

__all__ = [
    "BANDS",
    "BODY_THRESHOLD",
    "NUMBER_EDITS",
    "SHINGLE",
    "TITLE_THRESHOLD",
    "WINDOW",
    "CopyIndex",
    "Match",
    "Release",
    "Signed",
    "Story",
    "Thresholds",
    "copies",
    "normalised_words",
    "number_sequence",
    "numbers",
    "numbers_changed",
    "origin_key",
    "shown_words",
    "sign",
    "story_of",
    "title_words",
]

# Words per shingle: 5 keeps the formulaic phrases ("the meeting reaffirmed the importance")
# from making two different releases look alike, while one edited figure breaks only 5 shingles.
SHINGLE = 5
NUM_PERM = 128
# The LSH: 18 bands of 7 of the 128 values (datasketch's choice for a threshold of 0.6). A pair
# becomes a candidate with probability 1 - (1 - s**7)**18: 0.92 at a similarity s of 0.75, 0.999
# at 0.85, 0.99999 at the lowest copy measured (0.92); 0.04 at 0.4, where formulaic releases of
# different meetings lie. The thresholds below were chosen on the frozen corpus
# (tests/corpus_copies.py, seed 1: 333 releases, 155 pairs of copies, 20 of the re-posts made
# before a figure of their origin's text was edited, 61 sibling pairs, some 3,700 other pairs);
# bench/copies.py measures them on other seeds.
BANDS, ROWS = 18, 7
# Body similarity (exact Jaccard of the shingle sets) a copy must reach. The copies measured
# 0.92-1.0 (0.99 for the real re-post, furniture and all), other releases published within 7 days
# at most 0.34; siblings (the next meeting of a series) up to 0.85, and releases of the same
# series a year apart as much: the numbers rule, not this one, keeps those apart. 0.75 leaves
# room for a site with more furniture than the corpus has, where LSH still finds most pairs.
BODY_THRESHOLD = 0.75
# Title similarity (Jaccard of the folded title words, a "Press Release:" prefix and a site's
# name stripped): the copies measured 1.0 (0.75 before "Media Release -" was stripped too);
# siblings 0.53-1.0, so the title alone cannot decide; 0.6 leaves room for a re-post that adds
# or drops a word or two, and keeps out a headline about another meeting (0.42 in the tests).
TITLE_THRESHOLD = 0.6
# Places where the numbers of two texts may differ (their sequences aligned): one, an origin's
# figure edited after its copy was made. The copies measured 0 or 1; siblings 3-6 (ordinal and
# day at least), every other pair 2 or more.
NUMBER_EDITS = 1
# Published within a week: re-posts in the corpus come 0-5 days after their origin.
WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Release:
    id: str
    source: str
    source_order: int  # the source's place in the config: the tie-breaker for the origin
    title: str
    text: str
    published: datetime | None
    first_seen: datetime | None = None  # compared on when `published` is missing

    @property
    def when(self) -> datetime | None:
        return self.published if self.published is not None else self.first_seen


@dataclass(frozen=True, slots=True)
class Thresholds:
    window: timedelta = WINDOW
    body: float = BODY_THRESHOLD
    title: float = TITLE_THRESHOLD
    number_edits: int = NUMBER_EDITS


@dataclass(frozen=True, slots=True)
class Story:
    origin: str  # the id of the release published first (ties: source order)
    members: tuple[str, ...]  # every copy, the origin first, then by the same order


@dataclass(frozen=True, slots=True)
class Match:
    release: str  # the release matched
    matched: str  # the stored release it is most like
    similarity: float  # Jaccard of the bodies' shingle sets, exact
    story: Story  # the story it joins (with it as a member)

    @property
    def origin(self) -> str:
        return self.story.origin


# A dateline opens the body: "BALI, 21 February 2019 –", "JAKARTA, 27 May 2026 --",
# "Ha Noi, May 27, 2026:", "SINGAPORE, 2019-02-21 -" (folded: dashes are "-", no spaces around).
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(?:\d{{1,2}}(?:st|nd|rd|th)? {_MONTH},? \d{{4}}"
    rf"|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}"
    r"|\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2})"
)
_DATELINE = re.compile(rf"(?:^| )[a-z][a-z .'()]{{1,40}}, {_DATE} ?(?:-+|:)")
# how far into the text a dateline may lie: past the furniture a re-post puts before it (its
# title again, a date, a "Source:" line), never into the release itself
_DATELINE_REACH = 400
# "Source: ASEAN Secretariat", "Source:  ASEAN Secretariat News": a line of its own
_SOURCE_LINE = re.compile(
    r"^\s*(?:source|sources|courtesy|via)\s*:.*$", re.IGNORECASE | re.MULTILINE
)
# a figure is one word with its separators ("1,200", "4.5", "16th"), other words end at any
# punctuation
_WORD = re.compile(r"\d+(?:[.,]\d+)*[a-z]*|[a-z0-9]+(?:'[a-z]+)?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# "Press Release:", "Media Release -", "News:": up to four words before a colon that opens it
_TITLE_PREFIX = re.compile(
    # a dash only after a known label: "asean-russia" is no prefix ("-" is every folded dash)
    r"^(?:(?:[a-z]+ ){0,3}[a-z]+ ?[:|] ?|(?:press|media|news) (?:release|statement) ?- ?)"
)
# " | ASEAN Secretariat", " - ASEAN Main Portal": a site's name after the headline
_TITLE_SUFFIX = re.compile(r" ?[|] .*$| - asean (?:secretariat|main portal)$")


def normalised_words(text: str) -> list[str]:
    """The text's words as matching sees them: folded, without dateline and "Source:" lines."""
    folded = fold_for_match(_SOURCE_LINE.sub(" ", text))
    dateline = _DATELINE.search(folded, 0, _DATELINE_REACH)
    if dateline is not None:
        folded = folded[dateline.end() :]
    return _WORD.findall(folded)


def shown_words(text: str) -> list[tuple[int, str]]:
    """For each of `normalised_words(text)`, the piece of the text it was read from, as the text
    writes it (case, accents, its punctuation), with that piece's place: what a reader is shown
    of a passage. Two words of one piece ("ASEAN-Russia") share it."""
    words = normalised_words(text)
    pieces = _SOURCE_LINE.sub(" ", text).split()
    found = [
        (place, piece, word)
        for place, piece in enumerate(pieces)
        for word in _WORD.findall(fold_for_match(piece))
    ]
    dropped = len(found) - len(words)  # the dateline's, from the start
    if dropped < 0 or [word for _, _, word in found[dropped:]] != words:
        return list(enumerate(words))  # read otherwise piece by piece: the words themselves
    return [(place, piece) for place, piece, _ in found[dropped:]]


def title_words(title: str) -> list[str]:
    folded = fold_for_match(title).strip()
    folded = _TITLE_SUFFIX.sub("", _TITLE_PREFIX.sub("", folded))
    return _WORD.findall(folded)


def number_sequence(words: Sequence[str]) -> tuple[str, ...]:
    """The numbers among the words, in order: "16th" is 16, "1,200" and "1200" one figure."""
    found = []
    for word in words:
        number = _NUMBER.match(word)
        if number is not None:
            found.append(number.group().replace(",", ""))
    return tuple(found)


def numbers(words: Sequence[str]) -> frozenset[str]:
    return frozenset(number_sequence(words))


def numbers_changed(a: Sequence[str], b: Sequence[str]) -> int:
    """In how many places two texts' number sequences differ (aligned, as a diff aligns words):
    an edited figure is one place; the next meeting's ordinal and date are two or more."""
    # what the common subsequence (as difflib finds it) leaves of the longer one: an edited
    # figure counts once, however difflib pairs the repeated numbers around it
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return max(len(a), len(b)) - sum(block.size for block in matcher.get_matching_blocks())


def _shingles(words: Sequence[str]) -> list[int]:
    """Distinct shingles as 32-bit hashes (CRC-32: stable across processes, and fast)."""
    if len(words) < SHINGLE:
        return [zlib.crc32(" ".join(words).encode())] if words else []
    hashes = {
        zlib.crc32(" ".join(words[i : i + SHINGLE]).encode())
        for i in range(len(words) - SHINGLE + 1)
    }
    return sorted(hashes)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


_MASK = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Signed:
    """A release as matching compares it, computed once per version."""

    release: Release
    title: frozenset[str]
    title_numbers: frozenset[str]
    numbers: tuple[str, ...]  # the text's numbers in the order they appear
    shingles: Any  # a sorted numpy array of distinct uint32
    signature: Any  # NUM_PERM uint32: the MinHash

    def bands(self) -> list[int]:
        """The LSH band hashes, as signed 64-bit integers (a database's BIGINT)."""
        values = self.signature.tobytes()
        width = ROWS * 4
        return [
            int.from_bytes(
                hashlib.blake2b(
                    bytes([band]) + values[band * width : (band + 1) * width], digest_size=8
                ).digest(),
                "big",
                signed=True,
            )
            for band in range(BANDS)
        ]

    def estimate(self, other: Signed) -> float:
        """The MinHash estimate of the bodies' similarity (error about 0.05 at 128 values)."""
        return float((self.signature == other.signature).mean())

    def similarity(self, other: Signed) -> float:
        """Exact Jaccard of the two shingle sets."""
        import numpy as np

        shared = len(np.intersect1d(self.shingles, other.shingles, assume_unique=True))
        union = len(self.shingles) + len(other.shingles) - shared
        return shared / union if union else 0.0


class _Permutations:
    """The MinHash's NUM_PERM hash functions, drawn once per process from a fixed seed."""

    _drawn: tuple[Any, Any] | None = None

    @classmethod
    def get(cls) -> tuple[Any, Any]:
        if cls._drawn is None:
            import numpy as np

            generator = np.random.RandomState(1)
            odd = generator.randint(0, 1 << 32, size=NUM_PERM, dtype=np.uint64) | 1
            offset = generator.randint(0, 1 << 32, size=NUM_PERM, dtype=np.uint64)
            cls._drawn = (odd.astype(np.uint32), offset.astype(np.uint32))
        return cls._drawn


def _fmix32(values: Any) -> Any:
    """MurmurHash3's finaliser, a bijection that spreads CRC-32's linear bits."""
    import numpy as np

    h = values.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def sign(release: Release) -> Signed:
    import numpy as np

    words = normalised_words(release.text)
    title = title_words(release.title)
    shingles = np.asarray(_shingles(words), dtype=np.uint32)
    if len(shingles):
        odd, offset = _Permutations.get()
        with np.errstate(over="ignore"):  # the wraparound is the modulo 2**32
            permuted = _fmix32(shingles)[:, None] * odd[None, :] + offset[None, :]
        signature = permuted.min(axis=0).astype(np.uint32)
    else:
        signature = np.full(NUM_PERM, _MASK, dtype=np.uint32)
    return Signed(
        release=release,
        title=frozenset(title),
        title_numbers=numbers(title),
        numbers=number_sequence(words),
        shingles=shingles,
        signature=signature,
    )


def copies(new: Signed, old: Signed, thresholds: Thresholds) -> float | None:
    """The similarity when `new` and `old` are copies of one release, else None."""
    t = thresholds
    a, b = new.release, old.release
    if a.source == b.source:
        return None  # one site's two releases are two releases (a repeated title: "-2")
    if a.when is None or b.when is None or abs(a.when - b.when) > t.window:
        return None
    # the next meeting's title carries its own ordinal or year; an edited copy's does not
    if new.title_numbers != old.title_numbers:
        return None
    if _jaccard(new.title, old.title) < t.title:
        return None
    if numbers_changed(new.numbers, old.numbers) > t.number_edits:
        return None
    if new.estimate(old) < t.body - 0.15:
        return None  # the estimate's error at 128 permutations is about 0.05: far below
    similarity = new.similarity(old)
    return similarity if similarity >= t.body else None


def story_of(releases: Iterable[Release]) -> Story:
    """The story of these copies: its origin, the one published first (ties: source order)."""
    ordered = sorted(releases, key=_origin_order)
    return Story(origin=ordered[0].id, members=tuple(r.id for r in ordered))


@dataclass(slots=True)
class _Stories:
    """Union-find over release ids: a story is a connected set of copies."""

    parent: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # root -> ids, of 2 or more

    def find(self, key: str) -> str:
        root = key
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while key != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> str:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra
            self.members[ra] = self.members.pop(ra, [ra]) + self.members.pop(rb, [rb])
        return ra

    def of(self, key: str) -> list[str]:
        return self.members.get(self.find(key), [key])


class CopyIndex:
    """Releases of every source in memory, each signed once when added; `match` finds what a
    new one copies. The daemon keeps the same bands in its database instead (store/copies.py);
    this one serves the tests and the benchmark's precision and recall.

    Not thread-safe."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._buckets: dict[int, list[str]] = defaultdict(list)
        self._entries: dict[str, Signed] = {}
        self._stories = _Stories()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, release_id: object) -> bool:
        return release_id in self._entries

    def _verified(self, entry: Signed) -> list[tuple[str, float]]:
        """The stored copies of `entry`, the most similar first."""
        candidates = {key for band in entry.bands() for key in self._buckets.get(band, ())}
        found = []
        for key in candidates:
            similarity = copies(entry, self._entries[key], self.thresholds)
            if similarity is not None:
                found.append((key, similarity))
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))

    def _story(self, ids: Sequence[str], extra: Release | None = None) -> Story:
        releases = [self._entries[key].release for key in ids]
        return story_of([*releases, extra] if extra is not None else releases)

    def match(self, release: Release) -> Match | None:
        """The story `release` would join, without adding it (None: it copies nothing stored)."""
        found = self._verified(sign(release))
        if not found:
            return None
        ids = {member for key, _ in found for member in self._stories.of(key)}
        key, similarity = found[0]
        story = self._story(sorted(ids), extra=release)
        return Match(release=release.id, matched=key, similarity=similarity, story=story)

    def add(self, release: Release) -> Match | None:
        """Stores `release` (signed once) and links it to the story it joins, if any."""
        if release.id in self._entries:
            raise ValueError(f"release {release.id!r} is already in the index")
        entry = sign(release)
        found = self._verified(entry)
        self._entries[release.id] = entry
        for band in entry.bands():
            self._buckets[band].append(release.id)
        if not found:
            return None
        for key, _ in found:  # a copy of two stories' releases makes them one story
            self._stories.union(key, release.id)
        key, similarity = found[0]
        story = self._story(self._stories.of(release.id))
        return Match(release=release.id, matched=key, similarity=similarity, story=story)

    def story(self, release_id: str) -> Story | None:
        """The story a stored release belongs to; None when it has no copy."""
        ids = self._stories.of(release_id)
        return self._story(ids) if len(ids) >= 2 else None

    def stories(self) -> list[Story]:
        every = (self._story(ids) for ids in self._stories.members.values())
        return sorted(every, key=lambda story: story.origin)


def _origin_order(release: Release) -> tuple[date, int, datetime, str]:
    # `when` is set for every member: a release without a date is never linked
    assert release.when is not None
    return origin_key(release.when, release.source_order, release.id)


def origin_key(when: datetime, source_order: int, key: object) -> tuple[date, int, datetime, str]:
    """How a story's releases are ordered, the origin first: by the day they were published,
    then by the order of their sources in the config, then by the hour. A page often shows only
    its day (read as midnight) where the Secretariat's API gives the hour: a ministry's re-post of
    the same day must not come first for it."""
    return (when.date(), source_order, when, str(key))
