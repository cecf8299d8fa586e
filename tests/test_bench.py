"""`make bench` keeps working: a small run prints its table, every pass read what it should."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT


@pytest.mark.slow
def test_the_benchmark_reads_every_page_of_its_site() -> None:
    run = subprocess.run(
        [sys.executable, "bench/first_pass.py", "--pages", "20"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    rows = {line[:28].strip(): line[28:].split() for line in run.stdout.splitlines()}
    # pages, requests (200/304), changes
    # two listing pages and the twenty articles, all from the site's own host
    assert rows["html, first pass"][:3] == ["20", "22/0", "20"]
    assert rows["html, nothing new"][:3] == ["20", "0/22", "0"]
    assert rows["wordpress API, first pass"][:3] == ["20", "3/0", "20"]
    assert rows["wordpress API, nothing new"][:3] == ["20", "1/0", "0"]
