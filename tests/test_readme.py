"""The README's commands, run as written, with a config pointing at a site on 127.0.0.1."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT, free_port, running, wait_for, wordpress_source, write_config
from tests.mailserver import MailServer
from tests.sim.wordpress import SimWordPress
from watcher.config import (
    FeedSourceConfig,
    HtmlSourceConfig,
    HttpOverrides,
    WordPressSourceConfig,
)

README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", README, re.DOTALL)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append(line[2:].split("  #", 1)[0].strip())
    return commands


def test_the_readme_starts_with_the_two_commands() -> None:
    assert readme_commands()[:2] == ["make run", "make test"]


def test_make_test_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    last = ci.rstrip().splitlines()[-1]
    assert last.split("#", 1)[0].strip() == "make test"  # the command; a shell comment after it
    assert last.strip() in README
    dry = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for step in ("ruff check", "ruff format --check", "mypy watcher tests", "pytest"):
        assert step in dry.stdout


def test_make_check_is_the_quick_loop_the_readme_describes() -> None:
    dry = subprocess.run(
        ["make", "-n", "check"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
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


def run_daemon(command: list[str], env: dict[str, str], port: int) -> None:
    with running(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        wait_for(lambda: _feed_ready(port), timeout=120, what=f"{command} to serve its feed")
        # `make run` is a parent of the daemon: stop the daemon, as systemd or Ctrl-C would
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        for pid in children if command[0] == "make" else [str(process.pid)]:
            os.kill(int(pid), signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def _feed_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/feeds/all.atom", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.slow
def test_every_readme_command_runs(site: SimWordPress, tmp_path: Path) -> None:
    site.add_post("ASEAN-Russia Senior Officials' Meeting", "BALI, 21 February 2019 -- Met.")
    port = free_port()
    with MailServer() as smtp:
        config = write_config(
            tmp_path,
            [wordpress_source(site)],
            server={"listen": f"127.0.0.1:{port}", "base_url": f"http://127.0.0.1:{port}"},
            topics={"russia": {"title": "ASEAN–Russia", "preset": "partner/russia"}},
            email={
                "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none"},
                "from": "ASEAN watcher <watcher@example.org>",
            },
            subscriptions=[
                {"name": "russia-morning", "to": ["analyst@example.org"], "topics": ["russia"]}
            ],
        )
        run_every_command(config, port)


def run_every_command(config: Path, port: int) -> None:
    env = {**os.environ, "WATCHER_CONFIG": str(config)}
    ran = []
    for line in readme_commands():
        words = shlex.split(line)
        if words == ["make", "test"]:
            continue  # this very suite; test_make_test_is_what_ci_runs checks the target
        if words == ["make", "run"]:
            if not (ROOT / ".venv" / "bin" / "watcher").exists():
                pytest.skip("make run needs the project's .venv (make test sets it up)")
            run_daemon(["make", "run"], env, port)
        elif words[:2] == ["watcher", "run"]:
            run_daemon([sys.executable, "-m", "watcher", *words[1:]], env, port)
        else:
            assert words[0] == "watcher", line
            result = subprocess.run(
                [sys.executable, "-m", "watcher", *words[1:]],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert result.returncode == 0, (line, result.stdout, result.stderr)
        ran.append(line)
    assert "watcher check" in ran and "make run" in ran and len(ran) >= 19


def test_every_source_key_is_documented() -> None:
    """A key a user cannot find in the README is a key nobody sets."""
    models = (WordPressSourceConfig, HtmlSourceConfig, FeedSourceConfig)
    keys = {name for model in models for name in model.model_fields}
    keys |= {f"http.{name}" for name in HttpOverrides.model_fields}
    shown = set(re.findall(r"`([a-z_.]+)`", README))  # in the text and the tables
    shown |= set(re.findall(r"^\s*(?:- )?([a-z_]+):", README, re.MULTILINE))  # the examples
    assert sorted(keys - shown) == []
