"""Two versions side by side: the old lines with what went out marked <del>, the new with what
came in marked <ins>, word by word as render.py marks the inline diff."""

from __future__ import annotations

import difflib
import html

from markupsafe import Markup

from watcher.render import hunks


def side_by_side(diff: str) -> list[tuple[Markup, Markup]]:
    """(old, new) rows of a unified diff: context on both sides, changed lines paired."""
    rows: list[tuple[Markup, Markup]] = []
    for hunk in hunks(diff):
        rows.extend((Markup(html.escape(line)), Markup(html.escape(line))) for line in hunk.context)
        for number in range(max(len(hunk.removed), len(hunk.added))):
            old = hunk.removed[number] if number < len(hunk.removed) else None
            new = hunk.added[number] if number < len(hunk.added) else None
            rows.append(_pair(old, new))
    return rows


def _pair(old: str | None, new: str | None) -> tuple[Markup, Markup]:
    if old is None or new is None:
        return (
            Markup(f"<del>{html.escape(old)}</del>") if old else Markup(""),
            Markup(f"<ins>{html.escape(new)}</ins>") if new else Markup(""),
        )
    old_words, new_words = old.split(" "), new.split(" ")
    left: list[str] = []
    right: list[str] = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        gone, came = " ".join(old_words[a1:a2]), " ".join(new_words[b1:b2])
        if op == "equal":
            left.append(html.escape(gone))
            right.append(html.escape(came))
            continue
        if gone:
            left.append(f"<del>{html.escape(gone)}</del>")
        if came:
            right.append(f"<ins>{html.escape(came)}</ins>")
    return Markup(" ".join(left)), Markup(" ".join(right))
