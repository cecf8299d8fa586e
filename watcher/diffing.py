"""Pure: what an edit changed, as structured blocks a reader can follow.

Two versions are compared paragraph by paragraph (paragraphs are separated by blank lines),
then word by word inside the paragraphs that were edited. Both comparisons are made on the
folded form (watcher.text.fold), so a change of typography alone (quotes, dashes, spaces) is
never marked. Renderings are in watcher.render; this module only decides what changed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from watcher.models import Attachment
from watcher.text import fold

CONTEXT = 1  # unchanged paragraphs shown on each side of a change
FIGURES_LISTED = 3  # then "and N more"
# Paragraphs this much alike (difflib's ratio over their words) are one paragraph edited;
# below it, one is taken out and another put in.
SIMILAR = 0.5
_FIGURE_WORDS = 6  # a change longer than this is a rewording, not a figure

# Words (letters with their combining marks, digits, figures written "1,500.75" or "3.5"),
# runs of whitespace, and every other character alone: a changed figure is one token, so
# "USD 5 million" -> "USD 3 million" marks the 5 and nothing else.
_TOKEN = re.compile(r"\d+(?:[.,:/]\d+)*|[^\W\d_][\w\u0300-\u036f]*|\s+|.", re.DOTALL)
_DIGIT = re.compile(r"\d")
# What belongs to a figure when it sits beside one: the currency before, the scale after.
_BEFORE_FIGURE = re.compile(r"(?i)^(?:USD|US|EUR|SGD|IDR|MYR|THB|PHP|VND|JPY|CNY|KRW|[$€£¥])$")
_AFTER_FIGURE = re.compile(r"(?i)^(?:%|per cent|percent|thousand|million|billion|trillion)$")


class Mark(StrEnum):
    EQUAL = "equal"
    INSERT = "insert"
    DELETE = "delete"


class BlockKind(StrEnum):
    CONTEXT = "context"  # unchanged, shown around a change
    HIDDEN = "hidden"  # unchanged paragraphs collapsed: `hidden` says how many
    EDITED = "edited"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class Run:
    """Words kept, put in or taken out, with their spaces and punctuation, as displayed."""

    mark: Mark
    text: str


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph of the comparison, or a run of unchanged ones collapsed.

    `runs` hold the paragraph's words: all EQUAL for CONTEXT, INSERT for ADDED, DELETE for
    REMOVED, mixed for EDITED; empty for HIDDEN. `hidden` counts the paragraphs a HIDDEN block
    stands for (None when unknown: a stored unified diff does not say). `moved` marks an
    ADDED or REMOVED paragraph whose words are unchanged elsewhere in the other version."""

    kind: BlockKind
    runs: tuple[Run, ...] = ()
    hidden: int | None = 0
    moved: bool = False

    @property
    def old(self) -> str:
        return "".join(r.text for r in self.runs if r.mark != Mark.INSERT)

    @property
    def new(self) -> str:
        return "".join(r.text for r in self.runs if r.mark != Mark.DELETE)


@dataclass(frozen=True, slots=True)
class Summary:
    """What an edit changed, counted; `line` is the sentence every view shows."""

    title_changed: bool = False
    date_changed: bool = False
    edited: int = 0
    added: int = 0
    removed: int = 0
    moved: int = 0
    attachments_edited: int = 0  # attachments whose text changed
    attachments_added: int = 0
    attachments_removed: int = 0
    figures: tuple[tuple[str, str], ...] = ()

    @property
    def items(self) -> tuple[str, ...]:
        items = ["title changed"] if self.title_changed else []
        if self.date_changed:
            items.append("date changed")
        for count, what in (
            (self.edited, "edited"),
            (self.added, "added"),
            (self.removed, "removed"),
            (self.moved, "moved"),
        ):
            if count:
                items.append(f"{_count(count, 'paragraph')} {what}")
        for count, what in (
            (self.attachments_edited, "edited"),
            (self.attachments_added, "added"),
            (self.attachments_removed, "removed"),
        ):
            if count:
                items.append(f"{_count(count, 'attachment')} {what}")
        if self.figures:
            listed = ", ".join(f"{old} → {new}" for old, new in self.figures[:FIGURES_LISTED])
            more = len(self.figures) - FIGURES_LISTED
            tail = f" and {more} more" if more > 0 else ""
            items.append(f"{_count(len(self.figures), 'figure')} changed: {listed}{tail}")
        return tuple(items)

    @property
    def line(self) -> str:
        """'title changed; 2 paragraphs edited; 1 attachment edited; 1 figure changed: 5 → 3';
        empty when nothing
        but typography changed."""
        return "; ".join(self.items)


@dataclass(frozen=True, slots=True)
class AttachmentEdit:
    """The text of one attachment (a PDF) that changed, as paragraph blocks like a body's."""

    label: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class EditDiff:
    """An edit, ready to render: the title's words (empty when the title is unchanged), the
    date and attachment lines taken out and put in, the paragraphs, the attachments whose
    text changed, and the summary."""

    title: tuple[Run, ...]
    date: tuple[Run, ...]
    attachments: tuple[Block, ...]
    blocks: tuple[Block, ...]
    summary: Summary
    texts: tuple[AttachmentEdit, ...] = ()


class Readable(Protocol):
    """A version as compared: watcher.models.Document or a stored VersionView."""

    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def published(self) -> datetime | None: ...
    @property
    def attachments(self) -> tuple[Attachment, ...]: ...


def compare(old: Readable, new: Readable, *, context: int = CONTEXT) -> EditDiff:
    """Two versions of a release, compared: what a reader of the edit is shown."""
    title = word_runs(old.title, new.title) if fold(old.title) != fold(new.title) else ()
    old_date, new_date = _day(old.published), _day(new.published)
    date = word_runs(old_date, new_date) if old_date != new_date else ()
    attachments = tuple(
        paragraph_blocks(
            [f"{a.label} <{a.url}>" for a in old.attachments],
            [f"{a.label} <{a.url}>" for a in new.attachments],
        )
    )
    attachments = tuple(b for b in attachments if b.kind != BlockKind.CONTEXT)
    full = paragraph_blocks(paragraphs(old.text), paragraphs(new.text))
    texts = _attachment_texts(old.attachments, new.attachments, context)
    return finish(title, date, attachments, collapse(full, context), texts)


def _attachment_texts(
    old: Iterable[Attachment], new: Iterable[Attachment], context: int
) -> tuple[AttachmentEdit, ...]:
    """The attachments kept from one version to the next whose words changed. An attachment
    added brings its first text, no news (the list of attachments says it was added)."""
    before = {a.url: a.text for a in old if a.text is not None}
    edits = []
    for attachment in new:
        previous = before.get(attachment.url)
        if previous is None or attachment.text is None:
            continue
        blocks = paragraph_blocks(paragraphs(previous), paragraphs(attachment.text))
        if any(b.kind != BlockKind.CONTEXT for b in blocks):
            edits.append(AttachmentEdit(attachment.label, tuple(collapse(blocks, context))))
    return tuple(edits)


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a version's text (separated by blank lines), empty ones left out."""
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def tokens(text: str) -> list[str]:
    """Words, figures, whitespace runs and single other characters; joined, the text again."""
    return _TOKEN.findall(text)


def word_runs(old: str, new: str) -> tuple[Run, ...]:
    """The words of `old` and `new` in order, those taken out and put in marked. A stretch
    whose difference folds away (typography only) counts as unchanged and shows the new
    text; two changes with only spaces between them are shown as one."""
    old_units, new_units = _units(old), _units(new)
    # each word carries the spaces after it: difflib then never matches a space against every
    # other space, which made a long paragraph cost quadratic time
    matcher = difflib.SequenceMatcher(
        a=[fold(u) for u in old_units], b=[fold(u) for u in new_units], autojunk=False
    )
    runs: list[Run] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        taken, put = "".join(old_units[a1:a2]), "".join(new_units[b1:b2])
        if op == "equal" or fold(taken) == fold(put):
            runs.append(Run(Mark.EQUAL, put))
            continue
        # the spaces after the last word changed are not part of the change
        space = put[len(put.rstrip()) :] if taken.rstrip() != taken or not taken else ""
        runs.append(Run(Mark.DELETE, taken.rstrip() if space else taken))
        runs.append(Run(Mark.INSERT, put[: len(put) - len(space)]))
        runs.append(Run(Mark.EQUAL, space))
    return tuple(_joined(_absorb_spaces(r for r in runs if r.text)))


def _units(text: str) -> list[str]:
    """Tokens, each with the whitespace that follows it."""
    units: list[str] = []
    for token in tokens(text):
        if token.isspace() and units:
            units[-1] += token
        else:
            units.append(token)
    return units


def collapse(blocks: Sequence[Block], context: int = CONTEXT) -> list[Block]:
    """Unchanged paragraphs farther than `context` from a change become HIDDEN blocks that
    count them."""
    changed = [i for i, b in enumerate(blocks) if b.kind != BlockKind.CONTEXT]
    shown = {i for c in changed for i in range(c - context, c + context + 1)}
    out: list[Block] = []
    for index, block in enumerate(blocks):
        if block.kind != BlockKind.CONTEXT or index in shown:
            out.append(block)
        elif out and out[-1].kind == BlockKind.HIDDEN:
            out[-1] = Block(BlockKind.HIDDEN, hidden=(out[-1].hidden or 0) + 1)
        else:
            out.append(Block(BlockKind.HIDDEN, hidden=1))
    return out


def figures(runs: Iterable[Run]) -> list[tuple[str, str]]:
    """('5', '3') for every figure changed in a paragraph's runs, with the currency before it
    and the scale after it when those are unchanged ('USD 5 million' -> 'USD 3 million')."""
    listed = list(runs)
    out = []
    for index in range(len(listed) - 1):
        taken, put = listed[index], listed[index + 1]
        if taken.mark != Mark.DELETE or put.mark != Mark.INSERT:
            continue
        if not (_DIGIT.search(taken.text) or _DIGIT.search(put.text)):
            continue
        if max(_words(taken.text), _words(put.text)) > _FIGURE_WORDS:
            continue
        before = _unit_before(listed[index - 1].text if index else "")
        after = _unit_after(listed[index + 2].text if index + 2 < len(listed) else "")
        out.append(
            (
                f"{before}{taken.text.strip()}{after}".strip(),
                f"{before}{put.text.strip()}{after}".strip(),
            )
        )
    return out


def finish(
    title: tuple[Run, ...],
    date: tuple[Run, ...],
    attachments: tuple[Block, ...],
    blocks: Sequence[Block],
    texts: tuple[AttachmentEdit, ...] = (),
) -> EditDiff:
    """The parts of an edit, with their summary counted from them."""
    kinds = [b.kind for b in blocks]
    moved = sum(1 for b in blocks if b.moved and b.kind == BlockKind.ADDED)
    every_block = [*blocks, *(b for text in texts for b in text.blocks)]
    found = figures(title) + [
        f for b in every_block if b.kind == BlockKind.EDITED for f in figures(b.runs)
    ]
    summary = Summary(
        title_changed=bool(title),
        date_changed=bool(date),
        edited=kinds.count(BlockKind.EDITED),
        added=kinds.count(BlockKind.ADDED) - moved,
        removed=kinds.count(BlockKind.REMOVED) - moved,
        moved=moved,
        attachments_edited=len(texts),
        attachments_added=sum(1 for b in attachments if b.kind == BlockKind.ADDED),
        attachments_removed=sum(1 for b in attachments if b.kind == BlockKind.REMOVED),
        figures=tuple(found),
    )
    return EditDiff(title, date, attachments, tuple(blocks), summary, texts)


def paragraph_blocks(old: Sequence[str], new: Sequence[str]) -> list[Block]:
    """Every paragraph of both versions in reading order: unchanged, edited, added, removed."""
    old_keys, new_keys = [fold(p) for p in old], [fold(p) for p in new]
    matcher = difflib.SequenceMatcher(a=old_keys, b=new_keys, autojunk=False)
    blocks: list[Block] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            blocks.extend(Block(BlockKind.CONTEXT, (Run(Mark.EQUAL, p),)) for p in new[b1:b2])
        else:
            blocks.extend(_paired(old[a1:a2], new[b1:b2]))
    # a paragraph taken out here and put in there unchanged was moved, not rewritten
    taken = {fold(b.old) for b in blocks if b.kind == BlockKind.REMOVED}
    put = {fold(b.new) for b in blocks if b.kind == BlockKind.ADDED}
    both = taken & put
    return [
        Block(b.kind, b.runs, moved=True)
        if b.kind in (BlockKind.ADDED, BlockKind.REMOVED) and fold(b.old or b.new) in both
        else b
        for b in blocks
    ]


def _paired(old: Sequence[str], new: Sequence[str]) -> list[Block]:
    """Paragraphs replaced by others: each old one paired, in order, with the new one most like
    it (an edit); the ones left over were removed or added."""
    out: list[Block] = []
    i = j = 0
    while i < len(old) and j < len(new):
        if _similar(old[i], new[j]):
            out.append(Block(BlockKind.EDITED, word_runs(old[i], new[j])))
            i, j = i + 1, j + 1
        elif any(_similar(old[i], later) for later in new[j + 1 :]):
            out.append(Block(BlockKind.ADDED, (Run(Mark.INSERT, new[j]),)))
            j += 1
        else:
            out.append(Block(BlockKind.REMOVED, (Run(Mark.DELETE, old[i]),)))
            i += 1
    out.extend(Block(BlockKind.REMOVED, (Run(Mark.DELETE, p),)) for p in old[i:])
    out.extend(Block(BlockKind.ADDED, (Run(Mark.INSERT, p),)) for p in new[j:])
    return out


def _similar(old: str, new: str) -> bool:
    # words only: spaces and punctuation, which every paragraph has, would make any two alike
    matcher = difflib.SequenceMatcher(a=_word_keys(old), b=_word_keys(new), autojunk=False)
    # the cheap upper bounds first: most unrelated paragraphs stop there
    return (
        matcher.real_quick_ratio() >= SIMILAR
        and matcher.quick_ratio() >= SIMILAR
        and matcher.ratio() >= SIMILAR
    )


def _day(moment: datetime | None) -> str:
    return f"{moment:%d %B %Y}" if moment is not None else ""


def _absorb_spaces(runs: Iterable[Run]) -> list[Run]:
    """'<del>10</del><ins>12</ins> <del>points</del><ins>dots</ins>' reads better as one change:
    spaces alone between two changes join them."""
    out: list[Run] = []
    pending: list[Run] = list(runs)
    for index, run in enumerate(pending):
        between = (
            run.mark == Mark.EQUAL
            and not run.text.strip()
            and 0 < index < len(pending) - 1
            and pending[index - 1].mark != Mark.EQUAL
            and pending[index + 1].mark != Mark.EQUAL
        )
        if between:
            out.extend((Run(Mark.DELETE, run.text), Run(Mark.INSERT, run.text)))
        else:
            out.append(run)
    return out


def _joined(runs: Iterable[Run]) -> list[Run]:
    """Each change one deletion then one insertion; unchanged neighbours merged."""
    out: list[Run] = []
    taken: list[str] = []
    put: list[str] = []
    for run in [*runs, Run(Mark.EQUAL, "")]:
        if run.mark == Mark.DELETE:
            taken.append(run.text)
        elif run.mark == Mark.INSERT:
            put.append(run.text)
        else:
            out.extend(
                r
                for r in (Run(Mark.DELETE, "".join(taken)), Run(Mark.INSERT, "".join(put)))
                if r.text
            )
            taken, put = [], []
            if out and out[-1].mark == Mark.EQUAL:
                out[-1] = Run(Mark.EQUAL, out[-1].text + run.text)
            elif run.text:
                out.append(run)
    return out


def _word_keys(text: str) -> list[str]:
    return [fold(t) for t in tokens(text) if t[0].isalnum()]


def _words(text: str) -> int:
    return sum(1 for t in tokens(text) if not t.isspace() and t.strip())


def _unit_before(text: str) -> str:
    """The currency just before a figure ('USD ' of 'worth USD '), if there is one."""
    match = re.search(r"(\S+)(\s*)$", text)
    if match and _BEFORE_FIGURE.match(match.group(1)):
        return match.group(1) + match.group(2)
    return ""


def _unit_after(text: str) -> str:
    """The scale just after a figure (' million', '%', ' per cent'), if there is one."""
    match = re.match(r"(\s*)(%|per cent|\w+)", text)
    if match and _AFTER_FIGURE.match(match.group(2)):
        return match.group(1) + match.group(2)
    return ""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
