"""Limits a user runs into only at the edges: a duration past a year, two first starts at once on
a new database, clients that connect to the feed server and then say nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# -- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("    every: 9999999999d\n", "sources[0].every: '9999999999d' is longer than 365d"),
        ("    every: 3000000d\n", "sources[0].every: '3000000d' is longer than 365d"),
        ("    http: {timeout: 1000d}\n", "sources[0].http.timeout: '1000d' is longer than 365d"),
    ],
    ids=["9999999999d", "3000000d", "http-timeout"],
)
def test_config_check_refuses_a_duration_past_a_year_in_one_line(
    line: str, message: str, tmp_path: Path
) -> None:
    config = tmp_path / "watcher.yaml"
    config.write_text("sources:\n  - name: a\n    type: wordpress\n    url: https://e.org\n" + line)
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), "config", "check"],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "WATCHER_CONFIG"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stderr) == (2, f"{config}:5: {message}\n")
