"""The log: readable lines by default, JSON lines with `--log-format json` or `log_format: json`,
never a secret, and one line for each change found besides the line of its check."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import email_settings, run_watcher, wordpress_source, write_config
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.config import load_config
from watcher.errors import ConfigError
from watcher.logs import configure, secrets_of

FEED = {"name": "a", "type": "feed", "url": "https://example.org/feed/"}
FIELDS = {"time", "level", "logger", "message"}
# 2026-12-05T01:02:03.456Z
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000 (INFO|WARNING|ERROR|DEBUG) \S+: ")


@pytest.fixture
def root_logger() -> Iterator[None]:
    """The root logger as it was, whatever a test configured."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def json_lines(text: str) -> list[dict[str, object]]:
    """Every line of `text` as JSON, with the fields every line has."""
    entries = []
    for line in text.splitlines():
        entry = json.loads(line)  # every line, not only most
        assert isinstance(entry, dict), line
        assert set(entry) >= FIELDS, line
        assert ISO_UTC.match(str(entry["time"])), entry["time"]
        entries.append(entry)
    return entries


@pytest.mark.usefixtures("root_logger")
def test_json_lines_of_checks_with_each_change_in_fields(
    site: SimWordPress, make_app: Callable[..., App]
) -> None:
    site.add_post("ASEAN-Japan Joint Statement", "JAKARTA -- Adopted.")
    app = make_app([wordpress_source(site)])
    stream = io.StringIO()
    configure("INFO", "json", secrets_of(app.config), stream=stream)
    app.check()
    second = site.add_post("ASEAN-Russia Senior Officials Meeting", "BALI -- Met.")
    app.check()
    entries = json_lines(stream.getvalue())
    checks = [e for e in entries if str(e["message"]).startswith("check asean: ok")]
    assert len(checks) == 2
    assert {e["logger"] for e in checks} == {"watcher.check"}
    assert {e["level"] for e in checks} == {"INFO"}
    changes = [e for e in entries if "kind" in e]
    url = site.link(second)
    assert changes == [
        {
            "time": changes[0]["time"],
            "level": "INFO",
            "logger": "watcher.check",
            "message": f'change asean: new "ASEAN-Russia Senior Officials Meeting" <{url}>',
            "kind": "new",
            "source": "asean",
            "title": "ASEAN-Russia Senior Officials Meeting",
            "url": url,
        }
    ]


@pytest.mark.parametrize("log_format", ["json", "text"])
@pytest.mark.usefixtures("root_logger")
def test_secrets_never_reach_the_log(
    log_format: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "smtp-pass-9f3k")
    monkeypatch.setenv("CHAT_URL", "tgram://bot-token-77x/12345")
    database = "postgresql+psycopg://watcher:db-pass%2F8q@127.0.0.1:9/watcher"
    path = write_config(
        tmp_path,
        [FEED],
        database=database,
        email=email_settings(9, username="watcher", password_env="SMTP_PASSWORD"),
        health={"admin": ["ops@example.org"]},
        topics={"russia": {"preset": "partner/russia"}},
        subscriptions=[{"name": "chat", "topics": ["russia"], "notify_env": ["CHAT_URL"]}],
    )
    config = load_config(path)
    stream = io.StringIO()
    configure("INFO", log_format, secrets_of(config), stream=stream)
    log = logging.getLogger("watcher.test")
    log.error("cannot reach %s", config.database_url)
    log.warning(
        "login refused with %s", "smtp-pass-9f3k", extra={"url": "tgram://bot-token-77x/12345"}
    )
    try:
        raise ConnectionError(f"connection to {database.replace('%2F', '/')} failed")
    except ConnectionError:
        log.exception("the database went away")
    written = stream.getvalue()
    for secret in ("db-pass%2F8q", "db-pass/8q", "smtp-pass-9f3k", "bot-token-77x"):
        assert secret not in written
    assert "postgresql+psycopg://watcher:***@127.0.0.1:9/watcher" in written
    lines = written.splitlines()
    if log_format == "json":
        entries = json_lines(written)
        assert entries[1]["url"] == "***"
        assert "ConnectionError" in str(entries[2]["exception"])
    else:
        assert TEXT_LINE.match(lines[0]), lines[0]


def test_a_log_format_the_config_does_not_know_is_one_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, [FEED], log_format="yaml")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    line = 1 + next(
        n for n, text in enumerate(path.read_text().splitlines()) if text.startswith("log_format")
    )
    assert str(error.value) == f"{path}:{line}: log_format: 'yaml' is not one of 'text' or 'json'"


def test_each_change_is_logged_apart_from_the_checks_line(
    site: SimWordPress, make_app: Callable[..., App], caplog: pytest.LogCaptureFixture
) -> None:
    first = site.add_post("ASEAN-Japan Joint Statement", "JAKARTA -- Adopted with 12 points.")
    gone = site.add_post("ASEAN-China Dialogue", "BEIJING -- Met.")
    app = make_app([wordpress_source(site)])
    with caplog.at_level(logging.INFO, logger="watcher"):
        app.check()  # the baseline: news to nobody, one line for the check alone
        baseline = [r for r in caplog.records if hasattr(r, "kind")]
        site.edit_post(first, content="JAKARTA -- Adopted with 14 points.")
        site.trash_post(gone)
        app.check()
        app.check()  # missing twice: removed
    changes = [r for r in caplog.records if hasattr(r, "kind")]
    assert baseline == []
    shown = [(r.levelname, r.getMessage()) for r in changes]
    assert shown == [
        (
            "INFO",
            f'change asean: edited "ASEAN-Japan Joint Statement" <{site.link(first)}>',
        ),
        ("INFO", f'change asean: removed "ASEAN-China Dialogue" <{site.link(gone)}>'),
    ]
    removed = changes[1]
    assert (removed.kind, removed.source, removed.title) == (  # type: ignore[attr-defined]
        "removed",
        "asean",
        "ASEAN-China Dialogue",
    )
    checks = [r.getMessage() for r in caplog.records if r.getMessage().startswith("check asean")]
    assert len(checks) == 3


@pytest.mark.slow  # `watcher check` as a subprocess, three times
def test_the_command_line_option_and_the_config_key(site: SimWordPress, tmp_path: Path) -> None:
    site.add_post("ASEAN-Japan Joint Statement", "JAKARTA -- Adopted.")
    path = write_config(tmp_path, [wordpress_source(site)])
    out = run_watcher("--log-format", "json", "check", config=path)
    assert out.returncode == 0, out.stderr
    entries = json_lines(out.stderr)
    assert any(str(e["message"]).startswith("check asean: ok, 1 new") for e in entries)

    data = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**data, "log_format": "json"}), encoding="utf-8")
    site.add_post("ASEAN-Russia Senior Officials Meeting", "BALI -- Met.")
    out = run_watcher("check", config=path)
    assert out.returncode == 0, out.stderr
    entries = json_lines(out.stderr)
    [change] = [e for e in entries if "kind" in e]
    assert (change["kind"], change["title"]) == ("new", "ASEAN-Russia Senior Officials Meeting")

    out = run_watcher("--log-format", "text", "check", config=path)  # the option wins
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert lines and all(TEXT_LINE.match(line) for line in lines), lines
