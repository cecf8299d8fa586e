"""Pure: an edit read back from its stored unified diff (watcher.detect's lines: title, date,
paragraphs, attachments), for a change whose versions are not at hand."""

from __future__ import annotations

import re
from collections.abc import Iterable

from watcher.diffing import (
    CONTEXT,
    Block,
    BlockKind,
    EditDiff,
    Mark,
    Run,
    collapse,
    finish,
    paragraph_blocks,
    paragraphs,
    word_runs,
)
from watcher.text import fold

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_ATTACHMENT = re.compile(r"^- .* <\S+>$")


def from_unified(diff: str, *, context: int = CONTEXT) -> EditDiff:
    """An edit read back from its stored unified diff (watcher.detect's lines: title, date,
    paragraphs, attachments), when the versions themselves are not at hand. The diff holds only
    the lines around each change, so how many paragraphs lie between two changes is unknown:
    those HIDDEN blocks count None."""
    title: list[Run] = []
    date: list[Run] = []
    attachment_lines: tuple[list[str], list[str]] = ([], [])
    blocks: list[Block] = []
    for number, (start, old, new) in enumerate(_hunk_lines(diff)):
        if number or start > 1:
            blocks.append(Block(BlockKind.HIDDEN, hidden=None))
        body: tuple[list[str], list[str]] = ([], [])
        for side, lines in enumerate((old, new)):
            for line_number, line in lines:
                if line_number == 1:
                    title.append(Run((Mark.DELETE, Mark.INSERT)[side], line))
                elif line_number == 2 and line.startswith("Published: "):
                    date.append(
                        Run((Mark.DELETE, Mark.INSERT)[side], line.removeprefix("Published: "))
                    )
                elif _ATTACHMENT.match(line):
                    attachment_lines[side].append(line[2:])
                elif line != "Attachments:":
                    body[side].append(line)
        old_paragraphs, new_paragraphs = (paragraphs("\n".join(lines)) for lines in body)
        blocks.extend(collapse(paragraph_blocks(old_paragraphs, new_paragraphs), context))
    title_runs = _pair_runs(title)
    date_runs = _pair_runs(date)
    attachments = tuple(
        b for b in paragraph_blocks(*attachment_lines) if b.kind != BlockKind.CONTEXT
    )
    return finish(title_runs, date_runs, attachments, _merge_hidden(blocks))


def _hunk_lines(diff: str) -> Iterable[tuple[int, list[tuple[int, str]], list[tuple[int, str]]]]:
    """Each hunk: where it starts in the old version, and the numbered lines of each side."""
    old: list[tuple[int, str]] = []
    new: list[tuple[int, str]] = []
    start = old_number = new_number = 0
    for line in diff.splitlines():
        header = _HUNK.match(line)
        if header:
            if old or new:
                yield start, old, new
            start = old_number = int(header.group(1))
            new_number = int(header.group(2))
            old, new = [], []
        elif not start:
            continue  # "--- version 1" / "+++ version 2": the file header, before any hunk
        elif line.startswith("-"):
            old.append((old_number, line[1:]))
            old_number += 1
        elif line.startswith("+"):
            new.append((new_number, line[1:]))
            new_number += 1
        else:
            old.append((old_number, line[1:]))
            new.append((new_number, line[1:]))
            old_number, new_number = old_number + 1, new_number + 1
    if old or new:
        yield start, old, new


def _pair_runs(runs: list[Run]) -> tuple[Run, ...]:
    """A line as it was and as it is, compared word by word; nothing when they are alike."""
    taken = "".join(r.text for r in runs if r.mark == Mark.DELETE)
    put = "".join(r.text for r in runs if r.mark == Mark.INSERT)
    if fold(taken) == fold(put):
        return ()
    return word_runs(taken, put)


def _merge_hidden(blocks: list[Block]) -> list[Block]:
    out: list[Block] = []
    for block in blocks:
        if block.kind == BlockKind.HIDDEN and out and out[-1].kind == BlockKind.HIDDEN:
            known = block.hidden is not None and out[-1].hidden is not None
            out[-1] = Block(
                BlockKind.HIDDEN,
                hidden=(block.hidden or 0) + (out[-1].hidden or 0) if known else None,
            )
        else:
            out.append(block)
    return out
