"""`watcher export`: releases with their versions and changes, for analysis elsewhere.

Pure formatting of plain values (watcher.models.ExportedRelease, read one at a time by
watcher.store.exporting) into JSON objects and CSV rows, and writers that write each release
before the next is read: the memory used is that of one release, whatever the archive's size.

- JSON: one array, a release per line; JSONL: a release per line. Texts whole.
- CSV: a row per version, for spreadsheets: UTF-8 with a byte order mark (which tells
  spreadsheets the encoding), every cell quoted, a cell a spreadsheet would run as a formula
  made text with a leading `'` (OWASP's advice on CSV injection: pages are written by others),
  and a cell longer than a spreadsheet holds (32,767 characters) cut with a marker that says so.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from watcher.models import ExportedChange, ExportedRelease, ExportedVersion
from watcher.render import compare

# The most characters a spreadsheet cell holds (Excel's limit, counted in UTF-16 code units as
# Excel counts them; LibreOffice holds more).
CELL_LIMIT = 32_767
# What makes a spreadsheet read a cell as a formula (or a command, in some): OWASP's list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"

# One row per version; the release's columns repeated on each of its versions' rows. The README
# documents each (a test holds it to this list).
CSV_COLUMNS = (
    "release_id", "source", "key", "url", "canonical", "title", "status", "published",
    "first_seen", "last_changed", "topics",
    "version", "observed_at", "version_title", "version_published", "origin", "content_hash",
    "text", "attachments", "attachment_texts",
    "change", "detected_at", "baseline", "summary",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Written:
    releases: int
    versions: int
    changes: int


def release_object(release: ExportedRelease) -> dict[str, Any]:
    """A release as JSON has it: its fields, its topics, its versions and its changes whole."""
    summaries = _summaries(release)
    return {
        "id": release.id,
        "source": release.source,
        "key": release.key,
        "url": release.url,
        "canonical": release.canonical,
        "title": release.title,
        "published": _iso(release.published),
        "status": str(release.status),
        "first_seen": _iso(release.first_seen),
        "last_seen": _iso(release.last_seen),
        "last_changed": _iso(release.last_changed),
        "topics": {topic: list(terms) for topic, terms in sorted(release.topics.items())},
        "story": release.story_id,
        "copy_of": release.copy_of,
        "similarity": release.similarity,
        "versions": [_version_object(v) for v in release.versions],
        "changes": [_change_object(c, summaries) for c in release.changes],
    }


def _version_object(version: ExportedVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "observed_at": _iso(version.observed_at),
        "title": version.title,
        "published": _iso(version.published),
        "origin": str(version.origin),
        "content_hash": version.content_hash,
        "text": version.text,
        "attachments": [
            {"url": a.url, "label": a.label, "text": a.text} for a in version.attachments
        ],
    }


def _change_object(change: ExportedChange, summaries: Mapping[int, str]) -> dict[str, Any]:
    return {
        "uid": change.uid,
        "kind": str(change.kind),
        "detected_at": _iso(change.detected_at),
        "version": change.version,
        "baseline": change.baseline,
        "summary": summaries.get(change.version, "") if change.version else "",
        "diff": change.diff,
        "related": change.related_id,
        "note": change.note.to_json() if change.note else None,
    }


def csv_rows(release: ExportedRelease) -> Iterator[list[str]]:
    """A release's rows: one per version, in CSV_COLUMNS' order, every cell made safe for a
    spreadsheet (spreadsheet_cell)."""
    summaries = _summaries(release)
    made = {c.version: c for c in release.changes if c.version is not None}
    head = [
        str(release.id),
        release.source,
        release.key,
        release.url,
        release.canonical,
        release.title,
        str(release.status),
        _day_time(release.published),
        _day_time(release.first_seen),
        _day_time(release.last_changed),
        "; ".join(sorted(release.topics)),
    ]
    for version in release.versions:
        change = made.get(version.number)
        row = [
            *head,
            str(version.number),
            _day_time(version.observed_at),
            version.title,
            _day_time(version.published),
            str(version.origin),
            version.content_hash,
            version.text,
            "\n".join(f"{a.label} <{a.url}>" for a in version.attachments),
            "\n\n".join(
                f"Attachment: {a.label}\n{a.text}"
                for a in version.attachments
                if a.text is not None
            ),
            str(change.kind) if change else "",
            _day_time(change.detected_at) if change else "",
            ("true" if change.baseline else "false") if change else "",
            summaries.get(version.number, ""),
        ]
        yield [spreadsheet_cell(cell) for cell in row]


def spreadsheet_cell(value: str) -> str:
    """A cell a spreadsheet shows as written: never run as a formula, never longer than a cell
    holds (the end cut off, and a marker saying how much)."""
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    if len(value) <= CELL_LIMIT // 2 or _units(value) <= CELL_LIMIT:
        return value
    # room for the marker as long as it can be (every character cut): the real one is no longer
    room = CELL_LIMIT - len(_marker(len(value)))
    kept = value[:room]
    while (over := _units(kept) - room) > 0:  # characters beyond the BMP count twice
        kept = kept[: len(kept) - over]
    return kept + _marker(len(value) - len(kept))


def _marker(cut: int) -> str:
    return f" [… cut: {cut} more characters; the JSON export has the whole text]"


def _units(text: str) -> int:
    """Length in UTF-16 code units, as spreadsheets count it."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _summaries(release: ExportedRelease) -> dict[int, str]:
    """The summary line of each version a change made after another (an edit, a restoration
    with new words), by version number: the line the feeds, the mail and the pages show."""
    by_number = {v.number: v for v in release.versions}
    out = {}
    for change in release.changes:
        after = by_number.get(change.version) if change.version is not None else None
        before = by_number.get(after.number - 1) if after is not None else None
        if after is not None and before is not None:
            out[after.number] = compare(before, after).summary.line
    return out


def write_json(releases: Iterable[ExportedRelease], out: TextIO) -> Written:
    """One JSON array, a release per line, written as the releases come."""
    counted = _Counter()
    out.write("[")
    for index, release in enumerate(counted.each(releases)):
        out.write("\n" if index == 0 else ",\n")
        out.write(_json(release_object(release)))
    out.write("\n]\n" if counted.releases else "]\n")
    return counted.written()


def write_jsonl(releases: Iterable[ExportedRelease], out: TextIO) -> Written:
    """A JSON object per line (JSON Lines), a release each."""
    counted = _Counter()
    for release in counted.each(releases):
        out.write(_json(release_object(release)))
        out.write("\n")
    return counted.written()


def write_csv(releases: Iterable[ExportedRelease], out: TextIO) -> Written:
    """A header and a row per version. `out` must not translate newlines (open it with
    newline=""): rows end in CRLF, as RFC 4180 has them, and cells keep their own."""
    counted = _Counter()
    out.write(BOM)
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for release in counted.each(releases):
        writer.writerows(csv_rows(release))
    return counted.written()


Writer = Callable[[Iterable[ExportedRelease], TextIO], Written]
WRITERS: dict[str, Writer] = {"json": write_json, "jsonl": write_jsonl, "csv": write_csv}


class _Counter:
    def __init__(self) -> None:
        self.releases = self.versions = self.changes = 0

    def each(self, releases: Iterable[ExportedRelease]) -> Iterator[ExportedRelease]:
        for release in releases:
            self.releases += 1
            self.versions += len(release.versions)
            self.changes += len(release.changes)
            yield release

    def written(self) -> Written:
        return Written(self.releases, self.versions, self.changes)


# Characters JSON lets through inside strings that line-based readers take for line breaks
# (Python's str.splitlines among them): escaped, so that a JSON Lines record is one line.
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).translate(_LINE_BREAKS)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day_time(value: datetime | None) -> str:
    """UTC, as spreadsheets read a date and time without being told the format."""
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else ""
