"""What a change looks like to a reader, shared by feeds and mail: the words an edit changed,
and the opening lines of a release. Page text is always escaped; only our own markup is added."""

from __future__ import annotations

import difflib
import html
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hunk:
    """Lines an edit took out and put in, with the unchanged lines before them."""

    context: tuple[str, ...]
    removed: tuple[str, ...]
    added: tuple[str, ...]


def hunks(diff: str) -> Iterator[Hunk]:
    """A unified diff (as detect makes it) read back as runs of changed lines."""
    context: list[str] = []
    removed: list[str] = []
    added: list[str] = []
    in_header = True  # "--- version 1" / "+++ version 2" come once, before the first hunk
    for line in diff.splitlines():
        if in_header and line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            in_header = False
            if removed or added:
                yield Hunk(tuple(context), tuple(removed), tuple(added))
            context, removed, added = [], [], []
            continue
        if line.startswith("-"):
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
        else:
            if removed or added:
                yield Hunk(tuple(context), tuple(removed), tuple(added))
                context, removed, added = [], [], []
            if line[1:].strip():
                context.append(line[1:])
    if removed or added:
        yield Hunk(tuple(context), tuple(removed), tuple(added))


def word_changes(old: str, new: str) -> list[tuple[str, str]]:
    """('10 points', '12 points') -> [('10', '12')]: the words replaced, removed or added."""
    old_words, new_words = old.split(" "), new.split(" ")
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    return [
        (" ".join(old_words[a1:a2]), " ".join(new_words[b1:b2]))
        for op, a1, a2, b1, b2 in matcher.get_opcodes()
        if op != "equal"
    ]


def changed_words(diff: str) -> list[tuple[str, str]]:
    """Every (old, new) change of words in an edit; a whole line out or in is one pair."""
    changes: list[tuple[str, str]] = []
    for hunk in hunks(diff):
        for old, new in zip(hunk.removed, hunk.added, strict=False):
            changes.extend(word_changes(old, new))
        changes.extend((line, "") for line in hunk.removed[len(hunk.added) :])
        changes.extend(("", line) for line in hunk.added[len(hunk.removed) :])
    return changes


def diff_html(diff: str) -> str:
    """A unified diff as paragraphs, changed words marked with <del> and <ins>."""
    blocks: list[str] = []
    for number, hunk in enumerate(hunks(diff)):
        if number:
            blocks.append("<hr/>")
        blocks.extend(f"<p>{html.escape(line)}</p>" for line in hunk.context)
        for old, new in zip(hunk.removed, hunk.added, strict=False):
            blocks.append(f"<p>{_marked(old, new)}</p>")
        blocks.extend(
            f"<p><del>{html.escape(line)}</del></p>" for line in hunk.removed[len(hunk.added) :]
        )
        blocks.extend(
            f"<p><ins>{html.escape(line)}</ins></p>" for line in hunk.added[len(hunk.removed) :]
        )
    return "".join(blocks)


def opening(text: str, limit: int = 300) -> str:
    """The first words of a release, cut at a word, for a digest."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def _marked(old: str, new: str) -> str:
    old_words, new_words = old.split(" "), new.split(" ")
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            out.append(html.escape(" ".join(old_words[a1:a2])))
            continue
        if a2 > a1:
            out.append(f"<del>{html.escape(' '.join(old_words[a1:a2]))}</del>")
        if b2 > b1:
            out.append(f"<ins>{html.escape(' '.join(new_words[b1:b2]))}</ins>")
    return " ".join(out)
