"""Pure: an edit read back from its stored unified diff (watcher.detect's lines: title, date,
paragraphs, attachments), for a change whose versions are not at hand."""

from __future__ import annotations

import re
from collections.abc import Iterable

from watcher.diffing import (
    CONTEXT,
    AttachmentEdit,
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
_TEXT_HEADING = re.compile(r"^Attachment: (.+)$")  # watcher.detect's heading of a text read
_UNCHANGED = (BlockKind.CONTEXT, BlockKind.HIDDEN)


def from_unified(diff: str, *, context: int = CONTEXT) -> EditDiff:
    """An edit read back from its stored unified diff (watcher.detect's lines: title, date,
    paragraphs, attachments, attachments' texts), when the versions themselves are not at hand.
    The diff holds only the lines around each change, so how many paragraphs lie between two
    changes is unknown: those HIDDEN blocks count None. A hunk that does not show an
    attachment's heading belongs where the hunk before it ended (the body at first)."""
    lines = _Lines()
    # the body's blocks under None, each attachment's text under its label
    sections: dict[str | None, list[Block]] = {None: []}
    for number, (start, old, new) in enumerate(_hunk_lines(diff)):
        if number or start > 1:
            for blocks in sections.values():
                blocks.append(Block(BlockKind.HIDDEN, hidden=None))
        for label, body in lines.hunk(old, new).items():
            old_paragraphs, new_paragraphs = (paragraphs("\n".join(side)) for side in body)
            found = collapse(paragraph_blocks(old_paragraphs, new_paragraphs), context)
            sections.setdefault(label, []).extend(found)
    attachments = tuple(
        b for b in paragraph_blocks(*lines.attachments) if b.kind != BlockKind.CONTEXT
    )
    texts = tuple(
        AttachmentEdit(label, tuple(_merge_hidden(_trimmed(blocks))))
        for label, blocks in sections.items()
        if label is not None and any(b.kind not in _UNCHANGED for b in blocks)
    )
    return finish(
        _pair_runs(lines.title),
        _pair_runs(lines.date),
        attachments,
        _merge_hidden(sections[None]),
        texts,
    )


class _Lines:
    """The lines of a diff's hunks sorted by what they are: the title's, the date's, the list
    of attachments', and the others by section (None: the body; else an attachment's label)."""

    def __init__(self) -> None:
        self.title: list[Run] = []
        self.date: list[Run] = []
        self.attachments: tuple[list[str], list[str]] = ([], [])
        self.section: str | None = None  # where the lines before a hunk's first heading go

    def hunk(
        self, old: list[tuple[int, str]], new: list[tuple[int, str]]
    ) -> dict[str | None, tuple[list[str], list[str]]]:
        parts: dict[str | None, tuple[list[str], list[str]]] = {}
        ended = self.section
        for side, numbered in enumerate((old, new)):
            current = self.section
            for line_number, line in numbered:
                heading = _TEXT_HEADING.match(line)
                if heading:
                    current = heading.group(1)
                elif not self._heading_line(side, line_number, line):
                    parts.setdefault(current, ([], []))[side].append(line)
            ended = current
        self.section = ended
        return parts

    def _heading_line(self, side: int, line_number: int, line: str) -> bool:
        """Whether the line is the title, the date or the list of attachments (kept here)."""
        mark = (Mark.DELETE, Mark.INSERT)[side]
        if line_number == 1:
            self.title.append(Run(mark, line))
        elif line_number == 2 and line.startswith("Published: "):
            self.date.append(Run(mark, line.removeprefix("Published: ")))
        elif _ATTACHMENT.match(line):
            self.attachments[side].append(line[2:])
        else:
            return line == "Attachments:"
        return True


def _trimmed(blocks: list[Block]) -> list[Block]:
    """An attachment's blocks without the HIDDEN ones that stand for hunks before it began."""
    while blocks and blocks[0].kind == BlockKind.HIDDEN and blocks[0].hidden is None:
        blocks = blocks[1:]
    return blocks


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
