"""The command line, run as a user runs it: a subprocess, a config on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import ROOT, mail_settings, on_database, wordpress_source, write_config
from tests.helpers import run_watcher as watcher
from tests.mailserver import MailServer
from tests.sim.wordpress import SimWordPress

pytestmark = pytest.mark.slow  # each command a subprocess

BODY = "MANILA, 8 June 2026 -- The Meeting reviewed 10 projects.\n\nIt also noted progress."


@pytest.mark.databases
def test_check_releases_history_and_feeds(
    site: SimWordPress, tmp_path: Path, database_url: str | None
) -> None:
    post = site.add_post("ASEAN Senior Officials' Meeting convenes in Manila", BODY)
    config = write_config(tmp_path, [wordpress_source(site)], **on_database(database_url))

    before = watcher("releases", config=config)  # a command that only reads creates nothing
    assert (before.returncode, before.stdout) == (1, "")
    assert "no database at " in before.stderr and "`watcher check`" in before.stderr

    first = watcher("check", config=config)
    assert first.returncode == 0, first.stderr
    header, row = first.stdout.splitlines()
    assert header.split() == [
        "source",
        "status",
        "new",
        "edited",
        "removed",
        "requests",
        "seconds",
        "error/warning",
    ]
    assert row.split()[:5] == ["asean", "ok", "1", "0", "0"]
    assert "check asean: ok, 1 new, 0 edited, 0 removed" in first.stderr

    site.edit_post(post, content=BODY.replace("10 projects", "11 projects"))
    second = watcher("check", "--source", "asean", config=config)
    assert second.returncode == 0
    assert second.stdout.splitlines()[1].split()[:5] == ["asean", "ok", "0", "1", "0"]

    listed = watcher("releases", "--json", config=config)
    assert listed.returncode == 0
    [release] = json.loads(listed.stdout)
    assert {
        "id",
        "url",
        "title",
        "published",
        "source",
        "status",
        "versions",
        "first_seen",
        "last_changed",
    } <= release.keys()
    assert release["url"] == site.link(post)
    assert release["title"] == "ASEAN Senior Officials’ Meeting convenes in Manila"
    assert (release["source"], release["status"], release["versions"]) == ("asean", "active", 2)

    by_id = watcher("history", str(release["id"]), "--json", config=config)
    by_url = watcher("history", site.link(post), "--json", config=config)
    assert by_id.returncode == by_url.returncode == 0
    assert json.loads(by_id.stdout) == json.loads(by_url.stdout)
    history = json.loads(by_id.stdout)
    assert [v["number"] for v in history["versions"]] == [1, 2]
    assert [c["kind"] for c in history["changes"]] == ["new", "edited"]
    assert (
        "-MANILA, 8 June 2026 — The Meeting reviewed 10 projects." in history["changes"][1]["diff"]
    )

    text = watcher("history", str(release["id"]), config=config)
    assert "+MANILA, 8 June 2026 — The Meeting reviewed 11 projects." in text.stdout

    built = watcher("feeds", "build", config=config)
    assert built.returncode == 0
    assert (tmp_path / "state" / "feeds" / "all.atom").exists()

    status = watcher("status", config=config)
    assert status.returncode == 0
    assert status.stdout.splitlines()[1].split()[:2] == ["asean", "ok"]


def test_check_exit_codes(site: SimWordPress, tmp_path: Path) -> None:
    site.challenge = True
    config = write_config(tmp_path, [wordpress_source(site)])
    failed = watcher("check", config=config)
    assert failed.returncode == 1
    assert "failed" in failed.stdout and "challenge" in failed.stdout

    unknown = watcher("check", "--source", "nope", config=config)
    assert unknown.returncode == 2
    assert "no source named 'nope'" in unknown.stderr


def test_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "sources:\n  - name: a\n    type: html\n    url: https://e.org/\n    profile: asean\n    every: 15 minutes\n"
    )
    for command in (["check"], ["config", "check"], ["run"], ["releases"]):
        result = watcher(*command, config=bad)
        assert result.returncode == 2
        assert (
            result.stderr
            == f"{bad}:6: sources[0].every: '15 minutes' is not a duration (use 15m, 1h, 1d)\n"
        )


def test_config_from_the_environment(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    result = watcher("config", "check", env={"WATCHER_CONFIG": str(config)})
    assert result.returncode == 0
    assert result.stdout.startswith(f"{config}: ok")


def test_history_of_an_unknown_release(tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    assert watcher("db", "upgrade", config=config).returncode == 0
    result = watcher("history", "12345", config=config)
    assert result.returncode == 1
    assert "no release '12345'" in result.stderr


def test_source_kinds_are_listed_and_documented() -> None:
    from watcher.sources import SOURCE_KINDS

    result = watcher("config", "kinds")
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == list(SOURCE_KINDS)
    readme = (ROOT / "README.md").read_text()
    for kind in SOURCE_KINDS:
        assert f"### `{kind}`" in readme, kind


@pytest.mark.databases
def test_topic_and_digest_commands(
    site: SimWordPress, tmp_path: Path, database_url: str | None
) -> None:
    site.add_post("ASEAN-Russia consultations", "The Russian Federation and ASEAN met.")
    site.add_post("Belarus visit", "A courtesy call.")
    with MailServer() as smtp:
        config = write_config(
            tmp_path,
            [wordpress_source(site)],
            **mail_settings(smtp.port),
            **on_database(database_url),
        )
        assert watcher("check", config=config).returncode == 0

        tested = watcher("topics", "test", "russia", config=config)
        assert tested.returncode == 0
        assert "ASEAN-Russia consultations" in tested.stdout
        assert "Russia, Russian Federation, Russian, ASEAN-Russia" in tested.stdout
        assert "Belarus" not in tested.stdout
        assert tested.stdout.rstrip().endswith("1 release(s) in russia")

        listed = json.loads(
            watcher("releases", "--topic", "russia", "--json", config=config).stdout
        )
        assert [r["title"] for r in listed] == ["ASEAN-Russia consultations"]
        assert listed[0]["topics"] == {
            "russia": ["Russia", "Russian Federation", "Russian", "ASEAN-Russia"]
        }

        preview = watcher("digest", "preview", "russia-morning", config=config)
        assert preview.returncode == 0
        assert (
            "Subject: [ASEAN–Russia] nothing new — " in preview.stdout
        )  # the baseline is not news

        dry = watcher("digest", "send", "--dry-run", config=config)
        assert dry.returncode == 0
        assert smtp.received == []

        status = watcher("status", config=config)
        assert "russia-morning  digest  0     0        0" in status.stdout

        unknown = watcher("topics", "test", "japan", config=config)
        assert unknown.returncode == 2
        assert "no topic named 'japan' (topics: russia)" in unknown.stderr

        presets = watcher("topics", "presets").stdout
        assert "partner/republic-of-korea" in presets and "member/timor-leste" in presets
