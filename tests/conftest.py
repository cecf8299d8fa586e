"""Shared fixtures: a simulated site on 127.0.0.1, configs pointing at it, an App on tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.config import load_config

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite the golden files from the current output (review the diff).",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def golden(update_golden: bool) -> Callable[[str, str], None]:
    """Compare text with tests/golden/NAME, or rewrite it with --update-golden."""

    def check(name: str, actual: str) -> None:
        path = GOLDEN / name
        if update_golden:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
        assert path.exists(), f"no golden file {name}: run pytest --update-golden"
        assert actual == path.read_text(encoding="utf-8")

    return check


@pytest.fixture
def site() -> Iterator[SimWordPress]:
    with SimWordPress() as simulated:
        yield simulated


def write_config(directory: Path, sources: list[dict[str, Any]], **settings: Any) -> Path:
    """A config on loopback only, fast (no delay between requests), state in `directory`."""
    data: dict[str, Any] = {
        "state_dir": str(directory / "state"),
        "server": {"listen": "127.0.0.1:0", "base_url": "http://watcher.test"},
        "http": {"min_delay": "0s", "retries": 1, "timeout": "5s"},
        "sources": sources,
    }
    for key, value in settings.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path = directory / "watcher.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., App]]:
    apps: list[App] = []

    def make(
        sources: list[dict[str, Any]],
        *,
        clock: Callable[[], datetime] | None = None,
        **settings: Any,
    ) -> App:
        config = load_config(write_config(tmp_path, sources, **settings))
        app = App(config, clock=clock) if clock else App(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


class ShiftedClock:
    """The real time plus an offset a test moves forward (the sites keep real time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


def wordpress_source(site: SimWordPress, **extra: Any) -> dict[str, Any]:
    return {
        "name": "asean",
        "type": "wordpress",
        "url": site.url,
        "profile": "asean",
        "categories": ["news", "statements-meetings", "speeches"],
        "sweep_every": "0s",
        **extra,
    }


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback only: a proxy from the environment must never carry test traffic."""
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.delenv(name)
