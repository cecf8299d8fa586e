"""Which releases belong to which topic: pure matching, no I/O.

A term is a word or phrase matched whole (case-insensitively, "Russia" never inside "Prussia"),
or a regular expression written between slashes (`/russi(a|ans?)/`). Both the text and plain
terms are compared in the *folded form*, which is also what a regular expression sees:

- lowercase, diacritics removed ("Việt Nam", "Hà Nội" -> "viet nam", "ha noi"; "đ" -> "d");
- typographic quotes and apostrophes as ' and ";
- every hyphen or dash as "-" with no spaces around it ("ASEAN – Russia" -> "asean-russia");
- every run of whitespace (non-breaking spaces and newlines included) as one space.

An occurrence of a term that lies inside an occurrence of one of the topic's `not_counted`
phrases does not count ("Korea" in "North Korea"); a term that covers the whole phrase does, so a
user who lists "North Korea" among a topic's terms gets it. `none` terms follow the same rule and
veto the release.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from watcher.presets import PRESETS, Preset
from watcher.text import fold

__all__ = [
    "FIELDS",
    "PRESETS",
    "Match",
    "Preset",
    "Topic",
    "fold_for_match",
    "make_topic",
    "match",
    "topic_fingerprint",
    "validate_term",
]

FIELDS = ("title", "body")

# Part of every fingerprint: bump it when folding or matching rules change, so stored topic
# memberships are computed again with the new rules.
_RULES = 1


@dataclass(frozen=True, slots=True)
class Topic:
    name: str  # the YAML key: "russia"
    title: str  # "ASEAN–Russia"
    any: tuple[str, ...]  # at least one must match (when empty, `all` alone decides)
    all: tuple[str, ...] = ()  # every one must match
    none: tuple[str, ...] = ()  # a veto
    not_counted: tuple[str, ...] = ()  # occurrences of terms inside these do not count
    fields: tuple[str, ...] = FIELDS  # where to look


@dataclass(frozen=True, slots=True)
class Match:
    terms: tuple[str, ...]  # as written in the topic, in the topic's order (any, then all)


# Only the Latin combining marks: other scripts' marks (Thai vowels) are letters of the word.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# letters that carry a stroke or ligature rather than a combining mark, so NFKD keeps them
_LETTERS = {"đ": "d", "ø": "o", "ł": "l", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"}
_LETTER = re.compile("[" + "".join(_LETTERS) + "]")
_APOSTROPHES = re.compile("[\u02bc\u02bb]")  # modifier-letter apostrophes, which fold() keeps


# One release is matched against every topic in turn, then its words indexed for search: its
# title and body are folded once.
@lru_cache(maxsize=8)
def fold_for_match(text: str) -> str:
    """The folded form described in the module docstring."""
    folded = fold(_APOSTROPHES.sub("'", text)).casefold()
    if folded.isascii():  # nearly all of an English release: skip the Unicode passes
        return folded
    folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    folded = _LETTER.sub(lambda m: _LETTERS[m.group()], folded)
    return unicodedata.normalize("NFC", folded)


def _is_regex(term: str) -> bool:
    return len(term) >= 2 and term.startswith("/") and term.endswith("/")


@dataclass(frozen=True, slots=True)
class _Term:
    written: str
    pattern: re.Pattern[str]
    # the folded plain term: a substring test this fast rules out most texts before the regex
    needle: str | None

    def spans(self, text: str) -> list[tuple[int, int]]:
        if self.needle is not None and self.needle not in text:
            return []
        return [m.span() for m in self.pattern.finditer(text)]

    def search(self, text: str) -> bool:
        if self.needle is not None and self.needle not in text:
            return False
        return self.pattern.search(text) is not None


def _term(term: str) -> _Term:
    """The compiled form of one term; ValueError with a one-line reason if it cannot be."""
    stripped = term.strip()
    if _is_regex(stripped):
        source = stripped[1:-1]
        if not source:
            raise ValueError(f"{stripped} is an empty regular expression")
        try:
            pattern = re.compile(source, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{stripped} is not a valid regular expression: {exc}") from None
        if pattern.search("") is not None:
            raise ValueError(f"{stripped} matches an empty text, so it would match every release")
        return _Term(term, pattern, None)
    folded = fold_for_match(term)
    if not folded:
        raise ValueError("a term is empty")
    if not any(char.isalnum() for char in folded):
        raise ValueError(f"{term!r} has no letter or digit")
    # whole words: no letter or digit may continue the term on either side, whatever it ends
    # with ("U.S." is not in "U.S.S.R.")
    return _Term(term, re.compile(r"(?<!\w)" + re.escape(folded) + r"(?!\w)"), folded)


def validate_term(term: str) -> None:
    """Raise ValueError with a one-line reason if `term` cannot be a topic term."""
    _term(term)


def make_topic(
    name: str,
    *,
    title: str | None = None,
    preset: str | None = None,
    any: Sequence[str] = (),
    all: Sequence[str] = (),
    none: Sequence[str] = (),
    fields: Sequence[str] = FIELDS,
) -> Topic:
    """A topic from its config: the preset's terms first, then the user's own."""
    found: Preset | None = None
    if preset is not None:
        found = PRESETS.get(preset)
        if found is None:
            raise ValueError(f"{preset!r} is not a preset (see `watcher topics presets`)")
    any_terms = (*(found.terms if found else ()), *any)
    for term in (*any_terms, *all, *none):
        try:
            validate_term(term)
        except ValueError as exc:
            raise ValueError(f"topic {name!r}: {exc}") from None
    if not any_terms and not all:
        raise ValueError(f"topic {name!r} has no terms: give it a preset, `any` or `all`")
    unknown = [field for field in fields if field not in FIELDS]
    if unknown or not fields:
        raise ValueError(f"topic {name!r}: fields must be among title, body (got {list(fields)})")
    return Topic(
        name=name,
        title=title or (found.name if found else name),
        any=_unique(any_terms),
        all=_unique(all),
        none=_unique(none),
        not_counted=found.not_counted if found else (),
        fields=_unique(fields),
    )


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True, slots=True)
class _Compiled:
    any: tuple[_Term, ...]
    all: tuple[_Term, ...]
    none: tuple[_Term, ...]
    not_counted: tuple[_Term, ...]


@lru_cache(maxsize=256)
def _compile(topic: Topic) -> _Compiled:
    # a topic built by hand rather than by make_topic gets its bad terms reported here
    return _Compiled(
        any=tuple(_term(term) for term in topic.any),
        all=tuple(_term(term) for term in topic.all),
        none=tuple(_term(term) for term in topic.none),
        not_counted=tuple(_term(term) for term in topic.not_counted),
    )


class _Text:
    """One field's folded text and where its not_counted phrases are."""

    __slots__ = ("excluded", "text")

    def __init__(self, text: str, not_counted: tuple[_Term, ...]) -> None:
        self.text = text
        # each phrase searched on its own: overlapping phrases must all be found
        self.excluded = [span for phrase in not_counted for span in phrase.spans(text)]

    def has(self, term: _Term) -> bool:
        if not self.excluded:
            return term.search(self.text)
        return any(self._counts(span) for span in term.spans(self.text))

    def _counts(self, span: tuple[int, int]) -> bool:
        start, end = span
        return not any(
            low <= start and end <= high and (start, end) != (low, high)
            for low, high in self.excluded
        )


def match(topic: Topic, *, title: str, body: str) -> Match | None:
    """The terms that put a release in `topic`, or None when it is not in it."""
    compiled = _compile(topic)
    if not compiled.any and not compiled.all:
        return None  # a topic without terms matches nothing rather than everything
    texts = [
        _Text(fold_for_match(text), compiled.not_counted)
        for field, text in (("title", title), ("body", body))
        if field in topic.fields
    ]

    def found(term: _Term) -> bool:
        return any(text.has(term) for text in texts)

    if any(found(term) for term in compiled.none):
        return None
    if not all(found(term) for term in compiled.all):
        return None
    matched = [term.written for term in compiled.any if found(term)]
    if compiled.any and not matched:
        return None
    return Match(terms=_unique([*matched, *(term.written for term in compiled.all)]))


def topic_fingerprint(topic: Topic) -> str:
    """Changes exactly when what the topic matches (or reports) may change; not with its title."""
    definition = [
        _RULES,
        list(topic.any),
        list(topic.all),
        list(topic.none),
        list(topic.not_counted),
        sorted(topic.fields),
    ]
    encoded = json.dumps(definition, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]
