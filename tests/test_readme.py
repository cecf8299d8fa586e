"""The README, executed: its commands run as written (and print what they should) against a
site on 127.0.0.1, its YAML examples load through the config parser, and every command and
option of the command line is documented in it. Its pictured feed entry is a golden feed's, its
worked example of selectors reads the pages it shows, and its troubleshooting quotes the errors
the watcher gives."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import feedparser
import httpx
import pytest
import yaml
from lxml import etree

from tests.helpers import (
    GOLDEN,
    ROOT,
    free_port,
    listening,
    mail_settings,
    run_watcher,
    running,
    wait_for,
    wordpress_source,
    write_config,
)
from tests.mailserver import MailServer
from tests.sim.wordpress import SimWordPress
from tests.staticsite import StaticSite
from watcher import feeds
from watcher.app import App
from watcher.cli import cli
from watcher.config import parse_config
from watcher.models import ChangeEntry, ChangeKind, CheckStatus, Document
from watcher.sources import SOURCE_KINDS

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.DOTALL | re.MULTILINE)


def readme_commands() -> list[str]:
    """Every `$ ` line of the ```console blocks, without its comment."""
    return [
        line[2:].split("  #", 1)[0].strip()
        for block in blocks("console")
        for line in block.splitlines()
        if line.startswith("$ ")
    ]


def test_the_readme_starts_with_the_two_commands() -> None:
    assert readme_commands()[:2] == ["make run", "make test"]


def make_dry_run(target: str) -> str:
    dry = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return dry.stdout


def test_make_test_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    last = ci.rstrip().splitlines()[-1]
    assert last.split("#", 1)[0].strip() == "make test"  # the command; a shell comment after it
    assert last.strip() in README
    dry = make_dry_run("test")
    for step in ("ruff check", "ruff format --check", "mypy watcher tests"):
        assert step in dry
    # every test: those that may run in parallel, then those that may not
    assert 'pytest -m "not serial" -n' in dry and "pytest -m serial\n" in dry


# -- the development section ---------------------------------------------------------------


def test_make_check_is_the_quick_loop_the_readme_describes() -> None:
    dry = make_dry_run("check")
    for step in ("ruff check", "ruff format --check", "mypy watcher tests", 'pytest -m "not slow"'):
        assert step in dry
    development = README.split("## Development", 1)[1]
    assert "`make check`" in development
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    markers = pyproject["tool"]["pytest"]["ini_options"]["markers"]
    names = [re.split(r"[:(]", marker, maxsplit=1)[0] for marker in markers]
    assert {"slow", "serial", "realwp"} <= set(names)
    for name in names:  # each marker the tests use is explained
        assert f"`{name}" in development, name


# -- the commands --------------------------------------------------------------------------

FIRST = "ASEAN-Russia Senior Officials’ Meeting"  # as WordPress shows the title typed below
SECOND = "ASEAN and the Russian Federation hold consultations"
TEXT, EDITED = "BALI, 21 February 2019 -- Met.", "BALI, 21 February 2019 -- Met again."
SHOWN, SHOWN_EDITED = "BALI, 21 February 2019 — Met.", "BALI, 21 February 2019 — Met again."


@dataclass
class Story:
    """What the README's commands run against, in the order they are written: `make run`
    stores the first release, it is edited before `watcher check`, and a second one is
    published before `watcher check --source asean`."""

    site: SimWordPress
    smtp: MailServer
    config: Path
    port: int
    copy_to: Path  # the empty database `watcher db copy` fills
    first: int  # the first post's id
    entries: list[str]  # what the feed should have by now

    def edit_first(self) -> None:
        self.site.edit_post(self.first, content=EDITED)
        self.entries.append(f"Edited: {FIRST}")

    def publish_second(self) -> None:
        self.site.add_post(SECOND, "MOSCOW -- Met.")
        self.entries.append(f"New: {SECOND}")


@pytest.fixture
def story(tmp_path: Path) -> Iterator[Story]:
    with SimWordPress() as site, MailServer() as smtp:
        first = site.add_post("ASEAN-Russia Senior Officials' Meeting", TEXT)
        port = free_port()
        config = write_config(
            tmp_path, [wordpress_source(site)], **listening(port), **mail_settings(smtp.port)
        )
        copy_to = tmp_path / "copy" / "watcher.db"
        yield Story(site, smtp, config, port, copy_to, first, [f"New: {FIRST}"])


BEFORE: dict[str, Callable[[Story], None]] = {
    "watcher check": Story.edit_first,
    "watcher check --source asean": Story.publish_second,
}

Output = subprocess.CompletedProcess[str]


def rows(output: Output) -> list[list[str]]:
    """A table's lines, split on runs of two spaces or more (the header first)."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.stdout.splitlines() if line]


def _config_check(story: Story, out: Output) -> None:
    assert out.stdout.startswith(f"{story.config}: ok\n")
    assert f"source asean: wordpress {story.site.url} every 15m" in out.stdout
    assert f"feeds:    http://127.0.0.1:{story.port}/feeds/all.atom" in out.stdout


def _kinds(story: Story, out: Output) -> None:
    assert [line.split()[0] for line in out.stdout.splitlines()] == list(SOURCE_KINDS)


def _first_check(story: Story, out: Output) -> None:
    header, row = rows(out)
    assert header == [
        "source", "status", "new", "edited", "removed", "requests", "seconds", "error/warning",
    ]  # fmt: skip
    assert row[:5] == ["asean", "ok", "0", "1", "0"]  # `make run` stored it; edited since


def _second_check(story: Story, out: Output) -> None:
    [_, row] = rows(out)
    assert row[:5] == ["asean", "ok", "1", "0", "0"]  # the release published in between


def _releases(story: Story, out: Output) -> None:
    header, *found = rows(out)
    assert header == ["id", "source", "published", "status", "versions", "title"]
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in found] == [
        ("2", "asean", "active", "1", SECOND),  # newest first
        ("1", "asean", "active", "2", FIRST),
    ]


def _releases_json(story: Story, out: Output) -> None:
    found = json.loads(out.stdout)
    assert [(r["id"], r["title"], r["source"], r["versions"]) for r in found] == [
        (2, SECOND, "asean", 1),
        (1, FIRST, "asean", 2),
    ]
    assert found[1]["url"] == f"{story.site.url}/asean-russia-senior-officials-meeting/"
    assert found[1]["key"] == f"wp:{story.first}"
    assert found[1]["topics"] == {"russia": ["Russia", "ASEAN-Russia"]}


def _history(story: Story, out: Output) -> None:
    lines = out.stdout.splitlines()
    assert lines[:3] == [
        FIRST,
        f"{story.site.url}/asean-russia-senior-officials-meeting/",
        "release 1 of asean, active, 2 version(s)",
    ]
    changes = re.findall(r"^== \d{4}-\d\d-\d\d \d\d:\d\d UTC (.*)$", out.stdout, re.MULTILINE)
    assert changes == ["new -> version 1", "edited -> version 2"]
    assert f"\n-{SHOWN}\n+{SHOWN_EDITED}\n" in out.stdout  # the diff
    assert out.stdout.endswith(f"== text of version 2\n{SHOWN_EDITED}\n")


def _history_json(story: Story, out: Output) -> None:
    history = json.loads(out.stdout)
    assert (history["release"]["id"], history["release"]["title"]) == (1, FIRST)
    assert [v["text"] for v in history["versions"]] == [SHOWN, SHOWN_EDITED]
    assert [c["kind"] for c in history["changes"]] == ["new", "edited"]
    assert f"+{SHOWN_EDITED}" in history["changes"][1]["diff"]


def _status(story: Story, out: Output) -> None:
    found = rows(out)
    sources, subscriptions = found[:2], found[2:]
    assert sources[0] == [
        "source", "last check", "at", "last success", "failures", "paused until", "releases",
        "error/warning",
    ]  # fmt: skip
    assert sources[1][:2] == ["asean", "ok"]
    assert sources[1][4:7] == ["0", "-", "2"]  # failures, paused until, releases
    assert subscriptions == [
        ["subscription", "mode", "sent", "pending", "failed", "last error"],
        ["russia-morning", "digest", "0", "0", "0"],
    ]


def _db_upgrade(story: Story, out: Output) -> None:
    database = story.config.parent / "state" / "watcher.db"
    assert re.fullmatch(rf"sqlite:///{database}: schema \d+, up to date\n", out.stdout)


def _db_copy(story: Story, out: Output) -> None:
    heading, header, *counted = out.stdout.splitlines()
    assert heading.startswith("copied sqlite:///") and f"to sqlite:///{story.copy_to}" in heading
    assert header.split() == ["table", "rows"]
    counts = {name: int(rows) for name, rows in (line.split() for line in counted)}
    assert counts["release"] == 2 and counts["version"] == 3 and counts["change"] == 3


def _feeds_build(story: Story, out: Output) -> None:
    feeds = story.config.parent / "state" / "feeds"
    assert out.stdout == f"wrote {feeds}/all.atom and all.rss\n"
    entries = feedparser.parse((feeds / "all.atom").read_bytes()).entries
    assert sorted(e.title for e in entries) == sorted(story.entries)


def _export_csv(story: Story, out: Output) -> None:
    assert out.stdout.startswith("\ufeff")  # the byte order mark, for spreadsheets
    found = list(csv.DictReader(io.StringIO(out.stdout.removeprefix("\ufeff"))))
    assert [
        (r["release_id"], r["version"], r["change"], r["baseline"], r["text"]) for r in found
    ] == [
        ("1", "1", "new", "true", SHOWN),  # `make run` stored it: the baseline
        ("1", "2", "edited", "false", SHOWN_EDITED),
        ("2", "1", "new", "false", "MOSCOW — Met."),
    ]
    assert found[1]["summary"] == "1 paragraph edited" and found[1]["topics"] == "russia"


def _export_jsonl(story: Story, out: Output) -> None:
    found = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["id"], r["title"], [c["kind"] for c in r["changes"]]) for r in found] == [
        (1, FIRST, ["new", "edited"]),
        (2, SECOND, ["new"]),
    ]
    assert [v["text"] for v in found[0]["versions"]] == [SHOWN, SHOWN_EDITED]
    assert found[0]["topics"] == {"russia": ["Russia", "ASEAN-Russia"]}


def _presets(story: Story, out: Output) -> None:
    assert (
        "partner/russia  (Russian Federation)\n  terms: Russia, Russian Federation," in out.stdout
    )
    assert "partner/republic-of-korea" in out.stdout and "member/timor-leste" in out.stdout
    assert "  not counted: North Korea," in out.stdout


def _topics_list(story: Story, out: Output) -> None:
    header, row = rows(out)
    assert header == ["topic", "title", "releases", "terms"]
    assert row[:3] == ["russia", "ASEAN–Russia", "2"]


def _topics_test(story: Story, out: Output) -> None:
    header, *found, summary = rows(out)
    assert header == ["id", "published", "title", "matched"]
    assert [(r[0], r[2], r[3]) for r in found] == [
        ("2", SECOND, "Russian Federation, Russian"),
        ("1", FIRST, "Russia, ASEAN-Russia"),
    ]
    assert summary == ["2 release(s) in russia"]


def _topics_apply(story: Story, out: Output) -> None:
    assert out.stdout == "every topic is up to date\n"  # the checks matched them already


def _releases_in_topic(story: Story, out: Output) -> None:
    assert [r["title"] for r in json.loads(out.stdout)] == [SECOND, FIRST]


def _digest_preview(story: Story, out: Output) -> None:
    assert "To: analyst@example.org\n" in out.stdout
    subject = r"^Subject: \[ASEAN–Russia\] 1 new, 1 edited — \d+ \w+ \d{4}$"
    assert re.search(subject, out.stdout, re.MULTILINE)
    assert f"NEW: {SECOND}" in out.stdout  # the first check's releases (the baseline) are not
    assert f"EDITED: {FIRST}" in out.stdout  # news, but what changed since is
    assert story.smtp.received == []  # a preview sends nothing


def _digest_dry_run(story: Story, out: Output) -> None:
    # a new subscription's first digest is due at its next 08:00, not now
    assert out.stdout == ""
    assert story.smtp.received == []


def _outbox_list(story: Story, out: Output) -> None:
    assert rows(out) == [["id", "subscription", "kind", "status", "attempts", "subject", "error"]]


def _outbox_retry(story: Story, out: Output) -> None:
    assert out.stdout == "0 message(s) to try again\nsent 0, failed 0\n"


def _backfill(story: Story, out: Output) -> None:
    # both releases were stored by the checks, as the archive has them: nothing to add
    assert re.fullmatch(
        r"backfill asean: done, 1 of 1 pages, 2 release\(s\): 0 backfilled, 2 already stored, "
        r"0 edited; \d+ requests, [\d.]+ s\n",
        out.stdout,
    )
    assert story.smtp.received == []


# What each command of the README prints in the story; a command added to the README needs its
# line here.
EXPECTED: dict[str, Callable[[Story, Output], None]] = {
    "watcher config check": _config_check,
    "watcher config kinds": _kinds,
    "watcher check": _first_check,
    "watcher check --source asean": _second_check,
    "watcher releases": _releases,
    "watcher releases --source asean --json": _releases_json,
    "watcher history 1": _history,
    "watcher history 1 --json": _history_json,
    "watcher status": _status,
    "watcher db upgrade": _db_upgrade,
    "watcher db copy --to-env WATCHER_COPY_TO": _db_copy,
    "watcher feeds build": _feeds_build,
    "watcher export --format csv": _export_csv,
    "watcher export --topic russia --since 2026-05-01 --format jsonl": _export_jsonl,
    "watcher topics presets": _presets,
    "watcher topics list": _topics_list,
    "watcher topics test russia": _topics_test,
    "watcher topics apply": _topics_apply,
    "watcher releases --topic russia --json": _releases_in_topic,
    "watcher digest preview russia-morning": _digest_preview,
    "watcher digest send --dry-run": _digest_dry_run,
    "watcher outbox list": _outbox_list,
    "watcher outbox retry": _outbox_retry,
    "watcher backfill asean": _backfill,
}
DAEMONS = ("make run", "watcher run", "watcher serve")


def test_every_readme_command_has_its_expected_output() -> None:
    commands = readme_commands()
    assert "make test" in commands  # this very suite: test_make_test_is_what_ci_runs
    assert [c for c in commands if c not in EXPECTED and c not in (*DAEMONS, "make test")] == []


@pytest.mark.slow
def test_every_readme_command_runs_and_prints_what_it_should(story: Story) -> None:
    env = {"WATCHER_CONFIG": str(story.config), "WATCHER_COPY_TO": f"sqlite:///{story.copy_to}"}
    ran = []
    for line in readme_commands():
        words = shlex.split(line)
        if line == "make test":
            continue
        if line in BEFORE:
            BEFORE[line](story)
        if line == "make run":
            assert (ROOT / ".venv" / "bin" / "watcher").exists(), (
                "make run needs the project's .venv: run the tests with `make test`"
            )
            run_daemon(["make", "run"], env, story)
        elif line in DAEMONS:  # `watcher serve` shows the same feed, without checking
            run_daemon([sys.executable, "-m", "watcher", *words[1:]], env, story)
        else:
            assert words[0] == "watcher", line
            out = run_watcher(*words[1:], env=env)
            assert out.returncode == 0, (line, out.stdout, out.stderr)
            EXPECTED[line](story, out)
        ran.append(line)
    assert {"watcher check", "make run", "watcher run"} <= set(ran) and len(ran) >= 20


def run_daemon(command: list[str], env: dict[str, str], story: Story) -> None:
    """Runs the daemon until its feed has the entries the story has led to, and stops it."""
    wanted = sorted(story.entries)
    with running(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as process:
        wait_for(
            lambda: sorted(e.title for e in _entries(story.port)) == wanted,
            timeout=120,
            what=f"{command} to serve {wanted}",
        )
        # `make run` is a parent of the daemon: stop the daemon, as systemd or Ctrl-C would
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        for pid in children if command[0] == "make" else [str(process.pid)]:
            os.kill(int(pid), signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def _entries(port: int) -> list[Any]:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/feeds/all.atom", timeout=2)
    except httpx.TransportError:
        return []
    return list(feedparser.parse(response.content).entries) if response.status_code == 200 else []


# -- the YAML examples ---------------------------------------------------------------------

# What a fragment is wrapped in to make a whole config: one source, and the topic the
# subscriptions example names.
MINIMAL = {"sources": [{"name": "minimal", "type": "feed", "url": "https://example.org/feed/"}]}
MINIMAL_TOPICS = {"topics": {"russia": {"preset": "partner/russia"}}}


def as_config(example: str) -> str:
    """A YAML example of the README as a whole config, its own text kept as written."""
    data = yaml.safe_load(example)
    if isinstance(data, list):  # one source, as under `sources:`
        return "sources:\n" + "".join(f"  {line}\n" for line in example.splitlines())
    assert isinstance(data, dict), example
    wrap: dict[str, Any] = {} if "sources" in data else {**MINIMAL}
    if "subscriptions" in data and "topics" not in data:
        wrap.update(MINIMAL_TOPICS)
    return (yaml.safe_dump(wrap, sort_keys=False) if wrap else "") + example


def named_secrets(data: object) -> Iterator[str]:
    """The environment variables a config names (`password_env`, `notify_env`...)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key.endswith("_env"):
                yield from [value] if isinstance(value, str) else value
            else:
                yield from named_secrets(value)
    elif isinstance(data, list):
        for item in data:
            yield from named_secrets(item)


def test_the_readme_has_yaml_examples_for_each_source_kind_and_the_topics_and_email() -> None:
    kinds = {yaml.safe_load(b)[0]["type"] for b in blocks("yaml") if b.startswith("- ")}
    assert kinds == set(SOURCE_KINDS)
    keys = {key for b in blocks("yaml") if not b.startswith("- ") for key in yaml.safe_load(b)}
    assert {"topics", "email", "subscriptions"} <= keys


@pytest.mark.parametrize("example", blocks("yaml"), ids=lambda b: b.splitlines()[0].strip("- :"))
def test_every_yaml_example_loads(
    example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = as_config(example)
    for variable in named_secrets(yaml.safe_load(text)):
        monkeypatch.setenv(variable, "json://127.0.0.1:9/unused")  # any value: it is named
    config = parse_config(text, tmp_path / "watcher.yaml")
    data = yaml.safe_load(example)
    if isinstance(data, list):
        [source] = data
        assert [s.name for s in config.sources] == [source["name"]]
        shown = config.source(source["name"])
        assert (shown.kind, shown.url) == (source["type"], source["url"])
    for topic in data.get("topics", {}) if isinstance(data, dict) else ():
        assert topic in config.topics
    if isinstance(data, dict) and "email" in data:
        assert config.email is not None
    for subscription in data.get("subscriptions", []) if isinstance(data, dict) else ():
        assert subscription["name"] in [s.name for s in config.subscriptions]


# -- the command line ----------------------------------------------------------------------


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    """Every command under `group`, as `watcher topics test`, with its click object."""
    for name, command in sorted(group.commands.items()):
        full = (*path, name)
        yield " ".join(("watcher", *full)), command
        if isinstance(command, click.Group):
            yield from commands(command, full)


def flags(command: click.Command) -> list[str]:
    return [
        flag
        for param in command.params
        if isinstance(param, click.Option)
        for flag in (*param.opts, *param.secondary_opts)
    ]


def test_every_command_is_in_a_readme_example() -> None:
    examples = [f"{line} " for line in readme_commands()]
    missing = [
        name
        for name, command in commands(cli)
        if not isinstance(command, click.Group)
        and not any(example.startswith(f"{name} ") for example in examples)
    ]
    assert missing == []


def test_every_option_is_documented_beside_its_command() -> None:
    lines = README.splitlines()
    missing = []
    for name, command in commands(cli):
        beside = [line for line in lines if re.search(rf"(^|\$ |`){name}(\s|`|$)", line)]
        for flag in flags(command):
            if not any(re.search(rf"(?<![\w-]){flag}(?![\w-])", line) for line in beside):
                missing.append(f"{name} {flag}")
    assert missing == []


def test_the_global_options_are_documented() -> None:
    everywhere = [*flags(cli), "--help", "-h"]  # help is click's, named in its context settings
    assert [f for f in everywhere if not re.search(rf"`[^`]*(?<![\w-]){f}(?![\w-])", README)] == []


# -- the picture of a feed entry -----------------------------------------------------------

ENTRY_START, ENTRY_END = "<!-- feed-entry:start -->", "<!-- feed-entry:end -->"
PUBLISHED = datetime(2026, 3, 12, 3, 0, tzinfo=UTC)
FOUND = datetime(2026, 3, 14, 6, 15, tzinfo=UTC)
PARAGRAPHS = [
    "JAKARTA, 12 March 2026 – ASEAN and Japan today launched a fund for disaster resilience "
    "in the region.",
    "The fund was announced at the ASEAN-Japan Senior Officials' Meeting.",
    "Japan will contribute USD 5 million over three years, managed by the AHA Centre.",
    "The fund will support early warning systems in all ten ASEAN Member States.",
    "It will also train emergency responders in the region.",
    "The Secretary-General of ASEAN welcomed the initiative.",
    "He thanked the Government of Japan for its support.",
    "The first projects will be selected by June 2026.",
    "For more information, contact the ASEAN Secretariat.",
]


def edited_entry() -> ChangeEntry:
    """An edit like those the README describes: a title reworded, a figure and a date moved."""
    before = Document(
        "ASEAN and Japan launch a fund for disaster resilience",
        "\n\n".join(PARAGRAPHS),
        PUBLISHED,
    )
    after = Document(
        "ASEAN and Japan launch a disaster resilience fund",
        before.text.replace("USD 5 million", "USD 3 million").replace(
            "by June", "by the end of September"
        ),
        PUBLISHED,
    )
    return ChangeEntry(
        uid="00000000-0000-4000-8000-000000000007",
        kind=ChangeKind.EDITED,
        source="asean",
        release_id=7,
        url="https://asean.org/asean-and-japan-launch-a-fund-for-disaster-resilience/",
        title=after.title,
        detected_at=FOUND,
        feed_date=FOUND,
        published=PUBLISHED,
        diff="",
        html="",
        baseline=False,
        before=before,
        after=after,
    )


def entry_picture(atom: bytes) -> str:
    """The feed's first entry as the README shows it: its title, then its HTML as the feed
    carries it, one paragraph a line."""
    namespace = {"atom": "http://www.w3.org/2005/Atom"}
    entry = etree.fromstring(atom).find("atom:entry", namespace)
    assert entry is not None
    title = entry.findtext("atom:title", namespaces=namespace)
    content = entry.findtext("atom:content", namespaces=namespace)
    assert title and content
    body = content.replace("</p>", "</p>\n")
    return f"<blockquote>\n<p><b>{title}</b></p>\n{body}</blockquote>\n"


def readme_part(start: str, end: str) -> str:
    _, found, rest = README.partition(start)
    inside, closed, _ = rest.partition(end)
    assert found and closed, f"the README lacks {start} ... {end}"
    return inside.removeprefix("\n")


def test_the_readme_shows_a_feed_entry_as_the_feed_carries_it(
    golden: Callable[[str, str], None], update_golden: bool
) -> None:
    documents = feeds.render(
        [edited_entry()],
        title="ASEAN Secretariat news watcher",
        base_url="http://127.0.0.1:8080",
        name="all",
        now=FOUND,
        pages_url="https://watch.example.org",
    )
    golden("feeds/readme-edited.atom", documents.atom.decode())
    picture = entry_picture((GOLDEN / "feeds" / "readme-edited.atom").read_bytes())
    if update_golden:
        before, start, rest = README.partition(ENTRY_START)
        _, end, after = rest.partition(ENTRY_END)
        text = f"{before}{start}\n{picture}{end}{after}"
        (ROOT / "README.md").write_text(text, encoding="utf-8")
    else:
        assert readme_part(ENTRY_START, ENTRY_END) == picture, (
            "the README's feed entry differs from tests/golden/feeds/readme-edited.atom: "
            "run pytest --update-golden"
        )
    # what the README says of an edit's entry is what the picture shows
    summary = "title changed; 2 paragraphs edited; 1 figure changed: USD 5 million → USD 3 million"
    assert f"<p><b>{summary}</b></p>" in picture
    assert "[… 2 unchanged paragraphs …]" in picture
    assert "<del" in picture and "<ins" in picture


# -- the worked example of selectors ---------------------------------------------------------


def worked_example() -> tuple[str, str, dict[str, Any]]:
    """The listing page, the release's page and the source of "Writing selectors for another
    site", as written."""
    section = README.split("### Writing selectors for another site\n", 1)[1].split("\n## ", 1)[0]
    listing, article = re.findall(r"^```html\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    [example] = re.findall(r"^```yaml\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    [source] = yaml.safe_load(example)
    return listing, article, source


def test_the_worked_example_of_selectors_reads_the_pages_it_shows(
    make_app: Callable[..., App],
) -> None:
    listing, article, source = worked_example()
    path = source["url"].removeprefix("https://secretariat.example.org")
    row = re.compile(r'<div class="views-row">.*?<a href="([^"]+)">([^<]+)</a>', re.DOTALL)
    # the next page: the same rows a year older, and no link further
    older = re.sub(r'<nav class="pager">.*?</nav>', "", listing).replace(
        "/media/press-releases/", "/media/press-releases/2025/"
    )
    releases = row.findall(listing) + row.findall(older)
    assert len(releases) == 4
    shown = "Ministers adopt the Blue Economy Framework"
    with StaticSite() as site:
        site.html(path, listing)
        site.html(f"{path}?page=1", older)
        # every link of the pages answers with a page, as on a real site: a selector that
        # took the menu, the "Most read" box or the related releases would add releases
        for link in re.findall(r'href="(/[^"]*)"', listing + article + older):
            site.html(link, article.replace(shown, f"Page {link}"))
        for link, title in releases:
            site.html(link, article.replace(shown, title))
        app = make_app([{**source, "url": f"{site.url}{path}"}])
        [result] = app.check()
        assert (result.status, result.error) == (CheckStatus.OK, None)
        assert result.count(ChangeKind.NEW) == 4
        found = app.store.releases()
        assert sorted(r.title for r in found) == sorted(title for _, title in releases)
        release = next(r for r in found if r.url.endswith(releases[0][0]))
        history = app.store.history(str(release.id))
    assert history is not None
    assert release.title == shown
    assert release.published == datetime(2026, 6, 4, tzinfo=UTC)  # the `datetime` attribute
    text = history.versions[0].text
    assert text.startswith("SUVA, 4 June 2026")
    assert text.endswith("USD 12 million for coastal monitoring.")
    for left_out in ("Share:", "Related releases", "Director-General", "Published", "Home"):
        assert left_out not in text


def troubleshooting() -> str:
    """The Troubleshooting section, each run of spaces and line breaks as one space."""
    section = README.split("## Troubleshooting\n", 1)[1].split("\n## ", 1)[0]
    return " ".join(section.split())


CHALLENGE = b"<html><head><title>Just a moment...</title></head><body></body></html>"


@pytest.mark.parametrize("trouble", ["challenge", "robots", "listing", "article"])
def test_troubleshooting_quotes_the_errors_the_worked_example_meets(
    trouble: str, make_app: Callable[..., App]
) -> None:
    listing, article, source = worked_example()
    path = source["url"].removeprefix("https://secretariat.example.org")
    redesigned = article.replace('class="field-body"', 'class="body-text"')
    with StaticSite() as site:
        site.html(path, listing.replace("views-row", "card") if trouble == "listing" else listing)
        for link in re.findall(r'<h3><a href="([^"]+)"', listing):
            site.html(link, redesigned if trouble == "article" else article)
        if trouble == "challenge":
            site.pages[path] = (403, {"Content-Type": "text/html"}, CHALLENGE)
        if trouble == "robots":
            site.pages["/robots.txt"] = (200, {}, b"User-agent: *\nDisallow: /media/\n")
        app = make_app([{**source, "url": f"{site.url}{path}"}])
        [result] = app.check()
    assert result.status == CheckStatus.FAILED and result.error
    error = result.error.replace(site.url, "https://secretariat.example.org")
    assert f"`{error}`" in troubleshooting()


def test_troubleshooting_quotes_the_log_line_of_a_refused_mail(
    site: SimWordPress,
    smtp: MailServer,
    make_app: Callable[..., App],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app([wordpress_source(site)], **mail_settings(smtp.port, mode="instant"))
    app.prepare()
    app.check()  # the baseline: nothing to send
    smtp.refuse = True
    site.add_post("Russia and ASEAN sign a memorandum", "Signed today.")
    with caplog.at_level(logging.WARNING, logger="watcher.delivery"):
        app.check()
    [waiting] = app.store.outbox()
    [line] = [r.getMessage() for r in caplog.records if r.name == "watcher.delivery"]
    line = line.replace(waiting.message_id, "<Message-ID>")
    line = line.replace(f"127.0.0.1:{smtp.port}", "smtp.example.org:587")
    # the README's line ends with another answer of the server (a 535 where this one says 451)
    shown = re.search(r"`(delivery <Message-ID> [^`]*: \()", troubleshooting())
    assert shown is not None and line.startswith(shown.group(1)), line
    assert line.startswith("delivery <Message-ID> to russia-morning failed (attempt 1): SMTP ")
