"""What a change looks like to a reader, shared by the feeds, the mail and the web view.

Pure, no I/O. An edit is compared (watcher.diffing) into an EditDiff: its summary line, the
title's and date's words, and paragraph blocks with the changed words marked. This module
renders one: `inline_html` (<del>/<ins> inside the sentence), `side_by_side_html` (a table,
old and new columns) and `diff_text` (plain text, [-taken out-]{+put in+}). Page text is always
escaped; the only markup is ours.

    edit = compare(before, after)          # two versions (Document or VersionView)
    edit = from_unified(change.diff)       # or a stored unified diff
    edit = change_diff(entry)              # a ChangeEntry: its versions, else its diff
    edit.summary.line                      # 'title changed; 1 figure changed: 5 → 3'
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from watcher.diff_unified import from_unified
from watcher.diffing import (
    CONTEXT,
    Block,
    BlockKind,
    EditDiff,
    Mark,
    Readable,
    Run,
    Summary,
    compare,
    paragraphs,
    tokens,
    word_runs,
)
from watcher.models import ChangeEntry

__all__ = [
    "CONTEXT",
    "KEPT_WORDS",
    "LONG_RUN_WORDS",
    "Block",
    "BlockKind",
    "EditDiff",
    "Mark",
    "Readable",
    "Run",
    "Summary",
    "change_diff",
    "compare",
    "diff_text",
    "edit_html",
    "edit_text",
    "from_unified",
    "inline_html",
    "opening",
    "paragraphs",
    "side_by_side_html",
    "summary_line",
    "tokens",
    "word_runs",
]

# An unchanged stretch of an edited paragraph longer than this many words shows only its ends:
# one changed figure in a 2,000-word paragraph should not bring the whole paragraph.
LONG_RUN_WORDS = 40
KEPT_WORDS = 12  # words kept at each end of a long unchanged stretch
_DEL = '<del style="background:#fdd;color:#900">'
_INS = '<ins style="background:#dfd;color:#060;text-decoration:none">'
_TAG = {Mark.DELETE: (_DEL, "</del>"), Mark.INSERT: (_INS, "</ins>")}
_TEXT_MARK = {Mark.DELETE: ("[-", "-]"), Mark.INSERT: ("{+", "+}")}


def change_diff(entry: ChangeEntry) -> EditDiff | None:
    """The diff of a change: its two versions compared when the entry carries them (the
    store's changes always do), else its stored unified diff; None when it has neither."""
    if entry.before is not None and entry.after is not None:
        return compare(entry.before, entry.after)
    if entry.diff:
        return from_unified(entry.diff)
    return None


def summary_line(entry: ChangeEntry) -> str:
    """The one line every view shows for a change's words: '' when there is nothing to say."""
    edit = change_diff(entry)
    return edit.summary.line if edit is not None else ""


def inline_html(edit: EditDiff) -> str:
    """Paragraphs, the changed words marked inside them with <del> and <ins>."""
    parts = []
    if edit.title:
        parts.append(f"<p><b>Title:</b> {_marked(edit.title, trim=False)}</p>")
    if edit.date:
        parts.append(f"<p><b>Date:</b> {_marked(edit.date, trim=False)}</p>")
    parts.extend(_inline_blocks(edit.blocks))
    if edit.attachments:
        listed = "<br/>".join(_marked(b.runs, trim=False) for b in edit.attachments)
        parts.append(f"<p><b>Attachments:</b><br/>{listed}</p>")
    for text in edit.texts:
        parts.append(f"<p><b>Attachment: {html.escape(text.label)}</b></p>")
        parts.extend(_inline_blocks(text.blocks))
    return "".join(parts)


def _inline_blocks(blocks: Iterable[Block]) -> Iterable[str]:
    for block in blocks:
        if block.kind == BlockKind.HIDDEN:
            yield f"<p><i>{html.escape(_hidden(block))}</i></p>"
        else:
            marked = _marked(block.runs, trim=block.kind == BlockKind.EDITED)
            yield f"<p>{marked}{_moved(block)}</p>"


def edit_html(edit: EditDiff) -> str:
    """What the feeds and the mail show for an edit: the summary line in bold, then
    `inline_html`."""
    line = edit.summary.line
    return (f"<p><b>{html.escape(line)}</b></p>" if line else "") + inline_html(edit)


def edit_text(edit: EditDiff) -> list[str]:
    """The plain-text twin of `edit_html`: the summary line, then `diff_text`."""
    return [edit.summary.line, *diff_text(edit)] if edit.summary.line else diff_text(edit)


def side_by_side_html(edit: EditDiff) -> str:
    """A two-column table, the old version on the left and the new on the right, each with its
    own marks (taken out on the left, put in on the right)."""
    rows = ["<tr><th>Before</th><th>After</th></tr>"]
    if edit.title:
        rows.append(_row(edit.title, trim=False, label="Title: "))
    if edit.date:
        rows.append(_row(edit.date, trim=False, label="Date: "))
    rows.extend(_side_rows(edit.blocks))
    rows.extend(_row(b.runs, trim=False, label="Attachment: ") for b in edit.attachments)
    for text in edit.texts:
        rows.append(f'<tr><td colspan="2"><b>Attachment: {html.escape(text.label)}</b></td></tr>')
        rows.extend(_side_rows(text.blocks))
    return f'<table class="diff">{"".join(rows)}</table>'


def _side_rows(blocks: Iterable[Block]) -> Iterable[str]:
    for block in blocks:
        if block.kind == BlockKind.HIDDEN:
            yield f'<tr><td colspan="2"><i>{html.escape(_hidden(block))}</i></td></tr>'
        else:
            yield _row(block.runs, trim=block.kind == BlockKind.EDITED, note=_moved(block))


def diff_text(edit: EditDiff) -> list[str]:
    """Plain-text lines, git's word-diff marks: [-taken out-]{+put in+}."""
    lines = []
    if edit.title:
        lines.append(f"Title: {_plain(edit.title, trim=False)}")
    if edit.date:
        lines.append(f"Date: {_plain(edit.date, trim=False)}")
    lines.extend(_text_blocks(edit.blocks))
    lines.extend(f"Attachment: {_plain(b.runs, trim=False)}" for b in edit.attachments)
    for text in edit.texts:
        lines.append(f"== Attachment: {text.label}")
        lines.extend(_text_blocks(text.blocks))
    return lines


def _text_blocks(blocks: Iterable[Block]) -> Iterable[str]:
    for block in blocks:
        if block.kind == BlockKind.HIDDEN:
            yield _hidden(block)
        else:
            moved = " (moved)" if block.moved else ""
            yield _plain(block.runs, trim=block.kind == BlockKind.EDITED) + moved


def opening(text: str, limit: int = 300) -> str:
    """The first words of a release, cut at a word, for a digest."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def _hidden(block: Block) -> str:
    if block.hidden is None:
        return "[…]"
    noun = "paragraph" if block.hidden == 1 else "paragraphs"
    return f"[… {block.hidden} unchanged {noun} …]"


def _moved(block: Block) -> str:
    return " <small>(moved)</small>" if block.moved else ""


def _row(runs: tuple[Run, ...], *, trim: bool, label: str = "", note: str = "") -> str:
    cells = []
    for left in (True, False):
        shown = tuple(r for r in runs if r.mark != (Mark.INSERT if left else Mark.DELETE))
        body = _marked(shown, trim=trim)
        cells.append(f"<td>{html.escape(label)}{body}{note}</td>" if body else "<td></td>")
    return f"<tr>{''.join(cells)}</tr>"


def _marked(runs: Iterable[Run], *, trim: bool) -> str:
    out = []
    listed = list(runs)
    for index, run in enumerate(listed):
        if run.mark == Mark.EQUAL:
            out.append(html.escape(_trimmed(run.text, index, len(listed)) if trim else run.text))
        else:
            opening_tag, closing_tag = _TAG[run.mark]
            out.append(f"{opening_tag}{html.escape(run.text)}{closing_tag}")
    return "".join(out)


def _plain(runs: Iterable[Run], *, trim: bool) -> str:
    out = []
    listed = list(runs)
    for index, run in enumerate(listed):
        if run.mark == Mark.EQUAL:
            out.append(_trimmed(run.text, index, len(listed)) if trim else run.text)
        else:
            before, after = _TEXT_MARK[run.mark]
            out.append(f"{before}{run.text}{after}")
    return "".join(out)


def _trimmed(text: str, index: int, count: int) -> str:
    """A long unchanged stretch of an edited paragraph, its middle left out: the words nearest
    the changes are kept (at the paragraph's start or end only the side next to a change)."""
    words = text.split(" ")
    if len(words) <= LONG_RUN_WORDS:
        return text
    head = words[:KEPT_WORDS] if index > 0 else []
    tail = words[-KEPT_WORDS:] if index < count - 1 else []
    return " ".join([*head, "…", *tail])
