"""The README's configuration reference: made from the config's models, never stale, and
naming every key the config parser takes and no other."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from tests.helpers import ROOT
from watcher.config_models import SOURCE_TYPES, Settings
from watcher.config_reference import (
    END,
    START,
    Key,
    UndescribedKey,
    between_markers,
    keys,
    main,
    reference,
    with_reference,
)
from watcher.config_types import Duration, Strict

README = (ROOT / "README.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `([^`]+)`(?: \(([a-z, ]+)\))? \|", re.MULTILINE)


def test_the_readme_holds_the_reference_the_models_make_now() -> None:
    assert between_markers(README) == reference(), (
        "the README's configuration reference is stale: "
        "run `.venv/bin/python -m watcher.config_reference README.md`"
    )


def schema_keys(
    schema: dict[str, Any], node: dict[str, Any], path: str, kind: str | None
) -> Iterator[tuple[str, str | None]]:
    """Every key path the models' JSON schema allows (independently of the generator), with
    the source type it belongs to under `sources[]`."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    for alternative in node.get("anyOf", []):
        yield from schema_keys(schema, alternative, path, kind)
    for alternative in node.get("oneOf", []):
        model = schema["$defs"][alternative["$ref"].rsplit("/", 1)[1]]
        yield from schema_keys(schema, model, path, model["properties"]["type"]["const"])
    for name, child in node.get("properties", {}).items():
        key = f"{path}.{name}" if path else name
        yield key, kind
        yield from schema_keys(schema, child, key, kind)
    if "items" in node:
        yield from schema_keys(schema, node["items"], f"{path}[]", kind)
    for child in node.get("patternProperties", {}).values():
        yield from schema_keys(schema, child, f"{path}.<name>", kind)


def everywhere(kinds: set[str]) -> set[str]:
    return set() if kinds == set(SOURCE_TYPES) else kinds


def test_every_key_of_the_models_is_in_the_readme_and_the_readme_names_no_other() -> None:
    schema = Settings.model_json_schema()
    wanted: dict[str, set[str]] = {}
    for path, kind in schema_keys(schema, schema, "", None):
        wanted.setdefault(path, set()).update([kind] if kind else [])
    shown: dict[str, set[str]] = {}
    for path, kinds in ROW.findall(between_markers(README)):
        shown.setdefault(path, set()).update(kinds.split(", ") if kinds else [])
    # a key every source type has is unmarked, or marked in rows that name every type
    expected = {path: everywhere(kinds) for path, kinds in wanted.items()}
    shown = {path: everywhere(kinds) for path, kinds in shown.items()}
    assert sorted(set(expected) - set(shown)) == [], "keys missing from the README"
    assert sorted(set(shown) - set(expected)) == [], "keys in the README the config does not take"
    assert shown == expected  # and each is marked with the source types it belongs to
    assert {"http.min_delay", "sources[].every", "sources[].revisit.fresh"} <= set(shown)
    assert shown["sources[].categories"] == {"wordpress"}
    assert shown["sources[].follow"] == {"feed"}
    assert shown["subscriptions[].mode"] == set()


def test_a_key_with_another_meaning_per_source_type_has_a_row_for_each() -> None:
    rows = {(key.path, key.kinds): key for key in keys()}
    assert rows["sources[].max_pages", ("html",)].default == "`10`"
    assert rows["sources[].max_pages", ("wordpress",)].default == "`0`"
    assert rows["sources[].max_pages", ("feed",)].default == "`1`"
    assert rows["sources[].type", ()].type == "`wordpress`, `html` or `feed`"
    assert rows["sources[].url", ("html",)].description == "the listing's first page"


def test_types_and_defaults_are_in_words() -> None:
    rows = {key.path: key for key in keys() if not key.kinds}
    assert rows["sources[].revisit.fresh"] == Key(
        "sources[].revisit.fresh",
        (),
        "duration",
        "`7d`",
        "a release published (else first seen) or edited this recently is read again at every "
        "check",
    )
    assert (rows["http.max_bytes"].type, rows["http.max_bytes"].default) == ("size", "`20MB`")
    assert rows["http.per_host_concurrency"].type == "integer, 1 to 16"
    assert rows["sources[].follow_hosts"].type == "list of hosts"
    assert rows["subscriptions[].mode"].type == "`digest` or `instant`"
    assert rows["subscriptions[].topics"].default == "required"
    assert rows["server.base_url"].default == "unset"
    assert rows["email.from"].type == "text"  # the YAML's name, not the field's
    assert "<version>" in rows["http.user_agent"].default  # not the version of the day


class _Undescribed(Strict):
    every: Duration = timedelta(minutes=15)


class _Outer(Strict):
    inner: _Undescribed = Field(_Undescribed(), description="a section")


def test_a_key_without_a_description_stops_the_reference() -> None:
    with pytest.raises(UndescribedKey, match=r"^inner\.every has no description$"):
        reference(_Outer)


def test_the_reference_is_written_between_the_markers_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n\n{START}\n| stale |\n{END}\n\nafter\n")
    assert main([str(readme)]) == 0
    assert capsys.readouterr().out == f"{readme}: configuration reference rewritten\n"
    text = readme.read_text()
    assert text == f"# title\n\nbefore\n\n{START}\n{reference()}{END}\n\nafter\n"
    assert main([str(readme)]) == 0
    assert capsys.readouterr().out == f"{readme}: configuration reference up to date\n"
    assert readme.read_text() == text
    with pytest.raises(ValueError, match="markers"):
        with_reference("no markers here", reference())


@pytest.mark.slow
def test_python_m_prints_the_reference() -> None:
    command = [sys.executable, "-m", "watcher.config_reference"]
    printed = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    assert printed.stdout == reference()
