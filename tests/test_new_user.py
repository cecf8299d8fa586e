"""What a new user meets first: an empty config, a config with nothing to watch, commands run
before any check, a database of an older version. One line says what to do, and a command
that only reads writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from click.testing import CliRunner, Result

from tests.helpers import ROOT, wordpress_source, write_config
from tests.sim.wordpress import SimWordPress
from watcher import errors
from watcher.cli import cli
from watcher.config_models import SOURCE_TYPES, Settings
from watcher.options import SourceKind
from watcher.sources import SOURCE_KINDS
from watcher.store.store import SCHEMA_REVISION

FEED = {"name": "f", "type": "feed", "url": "http://127.0.0.1:9/feed/"}
READ_ONLY = (
    ["status"],
    ["releases"],
    ["releases", "--json"],
    ["history", "1"],
    ["topics", "list"],
    ["outbox", "list"],
)


def watcher(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def one_line(result: Result) -> str:
    [line] = result.stderr.splitlines()
    return line


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "\n\n"])
@pytest.mark.parametrize(
    "args", [["config", "check"], ["check"], ["run"], ["status"], ["releases"]]
)
def test_an_empty_config_stops_every_command(text: str, args: list[str], tmp_path: Path) -> None:
    config = tmp_path / "watcher.yaml"
    config.write_text(text)
    result = watcher(config, *args)
    assert result.exit_code == 2
    assert one_line(result) == f"{config}:1: the config is empty: it needs at least `sources:` " + (
        "(config/watcher.yaml is an example)"
    )
    assert list(tmp_path.iterdir()) == [config]


@pytest.mark.parametrize(
    ("sources", "why"),
    [
        ([], "add one under `sources:`"),
        ([{**FEED, "enabled": False}], "every source has `enabled: false`"),
    ],
)
def test_nothing_to_watch_stops_check_and_run_and_is_a_warning_for_config_check(
    sources: list[dict[str, object]], why: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, sources)
    for args in (["check"], ["run"]):
        result = watcher(config, *args)
        assert result.exit_code == 2, args
        assert one_line(result) == f"{config}: no sources to watch: {why}"
    checked = watcher(config, "config", "check")
    assert checked.exit_code == 0
    assert one_line(checked) == f"warning: {config}: no sources to watch: {why}"
    assert f"{config}: ok" in checked.stdout
    assert not (tmp_path / "state").exists()  # nothing written by any of them


def test_a_disabled_source_named_on_the_command_line_is_checked(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{**FEED, "enabled": False}])
    result = watcher(config, "check", "--source", "f")
    assert result.exit_code == 1  # checked, and failed: nothing listens on port 9
    assert "f" in result.stdout


@pytest.mark.parametrize("args", READ_ONLY)
def test_a_command_that_only_reads_creates_nothing(args: list[str], tmp_path: Path) -> None:
    config = write_config(tmp_path, [FEED], topics={"t": {"any": ["ASEAN"]}})
    result = watcher(config, *args)
    assert result.exit_code == 1
    database = tmp_path / "state" / "watcher.db"
    assert one_line(result) == (
        f"watcher: no database at {database} yet: `watcher check` or `watcher run` creates it"
    )
    assert not (tmp_path / "state").exists()


def test_config_check_writes_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, [FEED])
    result = watcher(config, "config", "check")
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["watcher.yaml"]


def test_a_database_of_an_older_version_is_upgraded_on_request(tmp_path: Path) -> None:
    config = write_config(tmp_path, [FEED])
    database = tmp_path / "state" / "watcher.db"
    database.parent.mkdir()
    migrations = AlembicConfig()
    migrations.set_main_option("script_location", str(ROOT / "watcher" / "store" / "migrations"))
    migrations.set_main_option("sqlalchemy.url", f"sqlite:///{database}")
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        migrations.attributes["connection"] = connection
        command.upgrade(migrations, "0003")
    engine.dispose()

    result = watcher(config, "status")
    assert result.exit_code == 1
    assert one_line(result) == (
        f"watcher: the database at {database} has schema 0003, this watcher reads "
        f"{SCHEMA_REVISION}: run `watcher db upgrade`"
    )
    upgraded = watcher(config, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"schema {SCHEMA_REVISION}, up to date" in upgraded.stdout
    assert watcher(config, "status").exit_code == 0


def test_releases_says_when_a_topic_changed_since_it_was_applied(
    site: SimWordPress, tmp_path: Path
) -> None:
    site.add_post("ASEAN and Japan meet", "Text.")
    source = wordpress_source(site)
    config = write_config(tmp_path, [source], topics={"t": {"any": ["ASEAN"]}})
    assert watcher(config, "check").exit_code == 0
    assert watcher(config, "releases").stderr == ""
    config = write_config(tmp_path, [source], topics={"t": {"any": ["ASEAN", "Japan"]}})
    result = watcher(config, "releases")
    assert result.exit_code == 0
    assert one_line(result) == (
        "note: topic(s) t changed since they were applied: `watcher topics apply` "
        "(or the daemon's next start) matches the releases again"
    )
    assert "ASEAN and Japan meet" in result.stdout


def test_releases_of_a_source_nobody_configured_is_a_typo(tmp_path: Path) -> None:
    config = write_config(tmp_path, [FEED])
    assert watcher(config, "db", "upgrade").exit_code == 0
    result = watcher(config, "releases", "--source", "asaen")
    assert result.exit_code == 2
    assert one_line(result) == f"{config}: no source named 'asaen' (sources: f)"
    assert watcher(config, "releases", "--source", "f").exit_code == 0  # known, nothing yet


def test_one_registry_names_every_source_kind() -> None:
    assert set(SOURCE_KINDS) == set(SourceKind)
    assert set(SOURCE_TYPES) == {kind.value for kind in SourceKind}
    configured = Settings.model_json_schema()["$defs"]
    types = {
        definition["properties"]["type"]["const"]
        for definition in configured.values()
        if "type" in definition.get("properties", {})
    }
    assert types == set(SOURCE_TYPES)


def test_the_exception_tree_drawn_is_the_one_defined() -> None:
    """errors.py draws its tree for a reader; a class added, moved or removed redraws it."""
    drawn: dict[str, str] = {}
    parents: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^    [│├└─ ]*?([A-Z]\w+)(?:  |$)", line)
        if not match:
            continue
        depth = (match.start(1) - 4) // 4
        del parents[depth:]
        drawn[match.group(1)] = parents[-1] if parents else ""
        parents.append(match.group(1))
    defined = {
        name: cls.__bases__[0].__name__ if cls is not errors.WatcherError else ""
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.WatcherError)
    }
    assert drawn == defined
