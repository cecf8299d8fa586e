"""The search box's query language: pure parsing, no I/O.

A query is words (every one must match), "quoted phrases" (the words in that order) and
prefixes (`consult*` finds "consultation"). Text and query are folded as topics fold them
(case, diacritics: "Viet Nam" finds "Việt Nam"), then cut into words of letters and digits, the
same way on both engines. Anything else, operators and punctuation included, is plain words
(`AND` is the word "and") or nothing: a query never fails and never reaches an engine's own
syntax (store/search.py writes each word quoted).

An unquoted chunk that folds to several words ("ASEAN-Russia", "U.S.") is a phrase, as it reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watcher.topics import fold_for_match

__all__ = ["MAX_TERMS", "MAX_WORD", "Term", "index_words", "parse"]

MAX_TERMS = 32  # what a person types: the rest of a longer query is dropped
MAX_WORD = 100  # characters: a longer word in a query is searched as a prefix of this length

_WORD = re.compile(r"[^\W_]+")  # letters and digits: what both engines' tokenizers keep
# a quoted phrase (to the end if unclosed; `"joint state"*` a prefix, as in SQLite's syntax),
# or a chunk without quotes
_CHUNK = re.compile(r'"([^"]*)"?(\*)?|([^\s"]+)')


@dataclass(frozen=True, slots=True)
class Term:
    """A word, or a phrase of words in order; `prefix`: its last word may go on."""

    words: tuple[str, ...]
    prefix: bool = False


def parse(query: str) -> tuple[Term, ...]:
    """The terms of a query, at most MAX_TERMS; none for a query with no word in it."""
    terms: list[Term] = []
    for match in _CHUNK.finditer(query):
        quoted, star, plain = match.groups()
        chunk = quoted if quoted is not None else plain
        words = tuple(_WORD.findall(fold_for_match(chunk)))
        if not words:
            continue
        prefix = bool(star) or (plain is not None and plain.endswith("*"))
        if len(words[-1]) > MAX_WORD:
            words, prefix = (*words[:-1], words[-1][:MAX_WORD]), True
        words = tuple(word[:MAX_WORD] for word in words)
        terms.append(Term(words, prefix))
        if len(terms) == MAX_TERMS:
            break
    return tuple(terms)


def index_words(*texts: str) -> str:
    """What is indexed of texts: their folded words, one space apart (so that PostgreSQL's
    parser, which reads "asean.org" or "1.5" as one token, cuts them as SQLite's does)."""
    return " ".join(" ".join(_WORD.findall(fold_for_match(text))) for text in texts if text)
