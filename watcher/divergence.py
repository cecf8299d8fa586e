"""Whether a copy still says what its origin says: the words that differ in substance.

Two copies of one release are compared as matching sees them (`copies.normalised_words`:
folded case, diacritics and typography, without the dateline and the "Source:" line), so that
re-wrapped paragraphs, straight quotes or another date format are no difference. What either
side has before the first words they share, or after the last, is a site's furniture around the
release (a "Share this page", a note on the source), not a difference either, unless figures
differ there. What is left, a
figure replaced or a sentence added or dropped inside the text, is.

A difference has a key made of its words alone, not their places: the watcher reports a
divergence once, and again only when the copy comes to differ in other words.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass

from watcher.copies import SHINGLE, normalised_words, shown_words

# words of context shown around each differing passage
CONTEXT = 8
ANCHOR = SHINGLE


@dataclass(frozen=True, slots=True)
class Passage:
    """One place where the copy differs: the origin's words and the copy's, with context."""

    before: str  # the shared words leading to it
    origin: str
    copy: str
    after: str


@dataclass(frozen=True, slots=True)
class Difference:
    passages: tuple[Passage, ...]  # as the texts write them
    key: str  # of the differing words alone, folded: the same difference, the same key

    def unified(self) -> str:
        """The passages as a unified diff of two documents (watcher.detect's lines: a title,
        then a paragraph a passage), which the word diffs read back (diffing.from_unified)."""
        origin, copy = ["Passages", ""], ["Passages", ""]
        for passage in self.passages:
            origin += [_joined(passage.before, passage.origin, passage.after), ""]
            copy += [_joined(passage.before, passage.copy, passage.after), ""]
        lines = difflib.unified_diff(origin, copy, "origin", "copy", lineterm="", n=0)
        return "\n".join(lines)


def _joined(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def difference(origin_text: str, copy_text: str) -> Difference | None:
    """Where the copy's text differs from the origin's in substance; None: it says the same."""
    origin, copy = normalised_words(origin_text), normalised_words(copy_text)
    matcher = difflib.SequenceMatcher(None, origin, copy, autojunk=False)
    operations = matcher.get_opcodes()
    # the text both carry starts and ends with a run of words as long as a shingle: a word or
    # two shared among furniture ("Print this page" and "Travel Page", "Back to top" and
    # "Travel Page") anchors nothing
    equal = [i for i, operation in enumerate(operations) if operation[0] == "equal"]
    anchors = [i for i in equal if operations[i][2] - operations[i][1] >= ANCHOR] or equal
    if not anchors:
        spans = [(0, len(origin), 0, len(copy))] if origin else []
    else:
        first, last = anchors[0], anchors[-1]
        spans = [
            (o1, o2, c1, c2)
            for index, (tag, o1, o2, c1, c2) in enumerate(operations)
            if tag != "equal"
            and (first < index < last or not _furniture(tag, origin[o1:o2] + copy[c1:c2]))
        ]
    if not spans:
        return None
    shown_origin, shown_copy = shown_words(origin_text), shown_words(copy_text)
    passages = tuple(
        Passage(
            before=_shown(shown_origin[max(0, o1 - CONTEXT) : o1]),
            origin=_shown(shown_origin[o1:o2]),
            copy=_shown(shown_copy[c1:c2]),
            after=_shown(shown_origin[o2 : o2 + CONTEXT]),
        )
        for o1, o2, c1, c2 in spans
    )
    words = [(origin[o1:o2], copy[c1:c2]) for o1, o2, c1, c2 in spans]
    return Difference(passages, hashlib.sha256(json.dumps(words).encode()).hexdigest())


def _furniture(tag: str, words: list[str]) -> bool:
    """Whether what differs before the text both carry, or after it, is a site's furniture: what
    one side adds alone ("Share this page"), or what each has of its own there, unless a figure
    is among it (the first or last figure of a release replaced is an edit)."""
    return tag in ("insert", "delete") or not any(word[0].isdigit() for word in words)


def _shown(words: list[tuple[int, str]]) -> str:
    """The pieces of text these words were read from, each once."""
    return " ".join(
        piece for n, (place, piece) in enumerate(words) if n == 0 or words[n - 1][0] != place
    )
