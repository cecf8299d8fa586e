"""Which releases are copies of one another across sources: pure matching, no I/O, no SQL.

A ministry re-posts a Secretariat release with a new headline case or a prefix ("Press Release:"),
a "Source: ASEAN Secretariat" line, a dateline in another date format, paragraphs re-wrapped and
its own page furniture around it. Matching therefore works on the *word sequence* of the folded
text (`watcher.topics.fold_for_match`), after dropping the dateline and the "Source:" lines:

1. candidates: 5-word shingles, a MinHash signature of each release (computed once, when it is
   added) and locality-sensitive hashing (datasketch's MinHashLSH) find the stored releases
   whose bodies are probably alike, without comparing with each of them;
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

Three or more copies form one story; its origin is the one published first (ties: the order of
the sources in the config), whatever order they were added in.

datasketch (and numpy, scipy with it) is imported only inside the index, where matching runs, so
that importing this module costs nothing and the commands start fast.
"""

from __future__ import annotations

import difflib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watcher.topics import fold_for_match

__all__ = [
    "BODY_THRESHOLD",
    "CANDIDATE_THRESHOLD",
    "NUMBER_EDITS",
    "SHINGLE",
    "TITLE_THRESHOLD",
    "WINDOW",
    "CopyIndex",
    "Match",
    "Release",
    "Story",
    "Thresholds",
    "normalised_words",
    "number_sequence",
    "numbers",
    "numbers_changed",
    "title_words",
]

# Words per shingle: 5 keeps the formulaic phrases ("the meeting reaffirmed the importance")
# from making two different releases look alike, while one edited figure breaks only 5 shingles.
SHINGLE = 5
NUM_PERM = 128
# datasketch 2's 32-bit permutations, for 32-bit shingle hashes
_SCHEME = "affine32"
# The thresholds below were chosen on the frozen corpus (tests/corpus_copies.py, seed 1: 333
# releases, 155 pairs of copies, 23 of them re-posts whose origin was edited later, 61 sibling
# pairs, some 3,700 other pairs); bench/copies.py measures them on other seeds.
#
# The LSH threshold: datasketch then cuts the 128 permutations into 18 bands of 7, and a pair
# becomes a candidate with probability 0.92 at a similarity of 0.75, 0.999 at 0.85, 0.99999 at
# the lowest copy measured (0.92). Each band is a bucket per release: at 0.5 (25 bands of 5)
# the index took 86 MiB for 10,000 releases, at 0.6 75 MiB (bench/copies.py).
CANDIDATE_THRESHOLD = 0.6
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
    candidates: float = CANDIDATE_THRESHOLD


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


@dataclass(slots=True)
class _Entry:
    release: Release
    title: frozenset[str]
    title_numbers: frozenset[str]
    numbers: tuple[str, ...]  # the text's numbers in the order they appear
    shingles: Any  # a sorted numpy array of uint32
    signature: Any  # a datasketch LeanMinHash


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
    """Releases of every source, each signed once when added; `match` finds what a new one copies.

    Not thread-safe: one index per process, fed by the checks in turn.
    """

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        import numpy as np
        from datasketch import MinHash, MinHashLSH

        self.thresholds = thresholds or Thresholds()
        self._np = np
        self._minhash = MinHash
        self._lsh = MinHashLSH(threshold=self.thresholds.candidates, num_perm=NUM_PERM)
        # the permutations drawn once: MinHash() draws them again for every signature otherwise
        self._permutations = MinHash(num_perm=NUM_PERM, seed=1, scheme=_SCHEME).permutations
        self._entries: dict[str, _Entry] = {}
        self._stories = _Stories()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, release_id: object) -> bool:
        return release_id in self._entries

    def _entry(self, release: Release) -> _Entry:
        from datasketch import LeanMinHash

        np = self._np
        words = normalised_words(release.text)
        title = title_words(release.title)
        hashes = _shingles(words)
        signature = self._minhash(
            num_perm=NUM_PERM,
            seed=1,
            hashfunc=int,  # the shingles are hashed already (CRC-32)
            permutations=self._permutations,
            scheme=_SCHEME,
        )
        if hashes:
            signature.update_batch(hashes)
        return _Entry(
            release=release,
            title=frozenset(title),
            title_numbers=numbers(title),
            numbers=number_sequence(words),
            shingles=np.asarray(hashes, dtype=np.uint32),
            signature=LeanMinHash(signature),
        )

    def _similarity(self, a: _Entry, b: _Entry) -> float:
        """Exact Jaccard of the two shingle sets."""
        shared = len(self._np.intersect1d(a.shingles, b.shingles, assume_unique=True))
        union = len(a.shingles) + len(b.shingles) - shared
        return shared / union if union else 0.0

    def _copies(self, new: _Entry, old: _Entry) -> float | None:
        """The similarity when `new` and `old` are copies of one release, else None."""
        t = self.thresholds
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
        if new.signature.jaccard(old.signature) < t.body - 0.15:
            return None  # the estimate's error at 128 permutations is about 0.05: far below
        similarity = self._similarity(new, old)
        return similarity if similarity >= t.body else None

    def _verified(self, entry: _Entry) -> list[tuple[str, float]]:
        """The stored copies of `entry`, the most similar first."""
        found = []
        for key in self._lsh.query(entry.signature):
            similarity = self._copies(entry, self._entries[key])
            if similarity is not None:
                found.append((key, similarity))
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))

    def _story(self, ids: Sequence[str], extra: Release | None = None) -> Story:
        releases = [self._entries[key].release for key in ids]
        if extra is not None:
            releases.append(extra)
        releases.sort(key=_origin_order)
        return Story(origin=releases[0].id, members=tuple(r.id for r in releases))

    def match(self, release: Release) -> Match | None:
        """The story `release` would join, without adding it (None: it copies nothing stored)."""
        found = self._verified(self._entry(release))
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
        entry = self._entry(release)
        found = self._verified(entry)
        self._entries[release.id] = entry
        self._lsh.insert(release.id, entry.signature, check_duplication=False)
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


def _origin_order(release: Release) -> tuple[datetime, int, str]:
    # `when` is set for every member: a release without a date is never linked
    assert release.when is not None
    return (release.when, release.source_order, release.id)
