"""Whether a copy still says what its origin says: the words that differ in substance.

Two copies of one release are compared as matching sees them (`copies.normalised_words`:
folded case, diacritics and typography, without the dateline and the "Source:" line), so that
re-wrapped paragraphs, straight quotes or another date format are no difference. What either
side has before the first words they share, or after the last, is a site's furniture around the
release (a "Share this page", a note on the source), not a difference either. What is left, a
figure replaced or a sentence added or dropped inside the text, is.

A difference has a key made of its words alone, not their places: the watcher reports a
divergence once, and again only when the copy comes to differ in other words.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass

from watcher.copies import SHINGLE, normalised_words

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
    passages: tuple[Passage, ...]

    @property
    def key(self) -> str:
        words = [(p.origin, p.copy) for p in self.passages]
        return hashlib.sha256(json.dumps(words).encode()).hexdigest()

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
    equal = [
        i
        for i, (tag, o1, o2, _, _) in enumerate(operations)
        if tag == "equal" and o2 - o1 >= ANCHOR
    ]
    if not equal:
        return Difference((Passage("", " ".join(origin), " ".join(copy), ""),)) if origin else None
    first, last = equal[0], equal[-1]
    passages = []
    for index, (tag, o1, o2, c1, c2) in enumerate(operations):
        if tag == "equal":
            continue
        # furniture: what one side has before the first shared words, or after the last (two
        # copies may each have their own there)
        if index < first or index > last:
            continue
        passages.append(
            Passage(
                before=" ".join(origin[max(0, o1 - CONTEXT) : o1]),
                origin=" ".join(origin[o1:o2]),
                copy=" ".join(copy[c1:c2]),
                after=" ".join(origin[o2 : o2 + CONTEXT]),
            )
        )
    return Difference(tuple(passages)) if passages else None
