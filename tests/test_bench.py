"""`make bench` keeps working: a small run goes through every phase and measures what it says,
the watcher reading in full only what changed and finding exactly the changes made."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

PAGES = 20


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "bench/run.py", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


@pytest.mark.slow
def test_a_small_run_measures_every_phase_and_finds_exactly_what_changed(tmp_path: Path) -> None:
    # nginx when installed (CI installs it), else the stand-in with nginx's validators; urlwatch
    # is left out: installing it would need the package index
    numbers = tmp_path / "bench.json"
    results = tmp_path / "RESULTS.md"
    args = ["--pages", str(PAGES), "--wp-posts", str(PAGES), "--without-urlwatch", "--repeats", "1"]
    run = bench(*args, "--server", "auto", "--json", str(numbers), "--write-results", str(results))
    assert run.returncode == 0, run.stderr
    [size] = json.loads(numbers.read_text())["sizes"]
    phases = {phase["name"]: phase for phase in size["phases"]}
    assert list(phases) == [
        "first pass", "nothing changed", "sidebar changed", "1% of bodies edited",
        "nothing changed again",
    ]  # fmt: skip

    # release pages by status: read in full when new or changed, else answered 304
    pages = {
        "first pass": {"200": PAGES},
        "nothing changed": {"304": PAGES},
        "sidebar changed": {"200": PAGES},
        "1% of bodies edited": {"200": 1, "304": PAGES - 1},
        "nothing changed again": {"304": PAGES},
    }
    made = {"first pass": PAGES, "1% of bodies edited": 1}
    for name, phase in phases.items():
        assert phase["made"] == made.get(name, 0)
        for tool in ("watcher check", "watcher daemon"):
            measured = phase["runs"][tool]
            assert measured["ok"], (name, tool, measured["note"])
            assert measured["pages"] == pages[name], (name, tool)
            # every edit found, no false alarm on the sidebar change
            assert sum(measured["found"].values()) == phase["made"], (name, tool)

    # the simulated days: every planted change found within its bound, nothing else
    day = size["day"]
    assert len(day["days"]) == 2
    assert all(one["checks"] == 96 for one in day["days"])
    assert {p["kind"] for p in day["plants"]} == {"new", "edited", "removed"}
    assert [p["what"] for p in day["plants"]].count("PDF edit") == 1  # one PDF in 20 pages
    assert all(one["pdfs"].get("304", 0) > 0 for one in day["days"])  # asked for again
    assert [p for p in day["plants"] if not p["ok"]] == []
    assert day["false_alarms"] == [] and day["failed_checks"] == []

    # WordPress: a nothing-changed cycle of the daemon is one request
    wordpress = json.loads(numbers.read_text())["wordpress"]
    cycles = [r for r in wordpress if r["how"] == "watcher daemon" and r["made"] == 0]
    assert cycles and {r["requests"] for r in cycles if "sweep" not in r["phase"]} == {1}
    assert [r for r in wordpress if sum(r["found"].values()) != r["made"]] == []

    # one report: the table, the targets; written with the command that made it
    for line in ("nothing changed again", "Targets", "Read-only commands", "Revisit policy"):
        assert line in run.stdout
    written = results.read_text()
    assert f"python bench/run.py {' '.join(args)}" in written
    assert "watcher daemon" in written


def test_without_nginx_it_says_how_to_install_it(tmp_path: Path) -> None:
    run = bench("--pages", "5", "--nginx", str(tmp_path / "nginx"))
    assert run.returncode != 0
    assert "apt-get install nginx-light" in run.stderr


@pytest.mark.slow
def test_the_pages_benchmark_asks_every_page_of_a_history_of_several_versions(
    tmp_path: Path,
) -> None:
    numbers = tmp_path / "pages.json"
    run = subprocess.run(
        [sys.executable, "bench/pages.py", "--pages", str(PAGES), "--versions", "3",
         "--repeats", "1", "--server", "auto", "--json", str(numbers)],
        check=False, capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    measured = json.loads(numbers.read_text())
    counts = measured["counts"]
    assert counts.pop("database_bytes") > 0
    assert counts == {"releases": PAGES, "versions": 3 * PAGES, "changes": 3 * PAGES}
    pages = {page["page"]: page for page in measured["pages"]}
    assert all(page["status"] == 200 for page in pages.values()), pages
    assert {"latest changes", "releases", "search, a word", "a release, diff 1 to last"} <= set(
        pages
    )
    assert pages["search, nothing found"]["kb"] < pages["search, a word"]["kb"]
    assert "Every page under 100 ms:" in run.stdout


@pytest.mark.slow
def test_the_copies_bench_measures_linking_and_its_cost_at_a_small_size(tmp_path: Path) -> None:
    # `make bench-copies` keeps working: every copy linked on a seed not used for tuning, nothing
    # else, and the matching cost measured on every query
    numbers = tmp_path / "copies.json"
    args = ["--seeds", "21", "--meetings", "60", "--stored", "300", "--queries", "40"]
    run = subprocess.run(
        [sys.executable, "bench/copies.py", *args, "--json", str(numbers)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    measured = json.loads(numbers.read_text())
    assert (measured["precision"], measured["recall"]) == (1.0, 1.0)
    [corpus] = measured["quality"]
    assert corpus["copies"] > 20
    assert corpus["siblings_linked"] == 0
    assert corpus["differ_from_in_memory"] == []  # the database path links what the index does
    cost = measured["cost"]
    assert cost["queries"] == 40
    assert cost["queries_with_copies_stored"] > 0
    assert cost["queries_matched_right"] == cost["queries_with_copies_stored"]
    assert cost["queries_matched_wrong"] == 0
    assert 0 < cost["median_ms"] <= cost["p95_ms"]
    assert cost["bands"] == 18 * cost["stored"]
    assert measured["memory"]["numpy_extra_mib"] > 0
    assert "precision" in run.stdout
    assert "p95" in run.stdout
    # seed 1 chose the thresholds: the bench refuses to report on it
    tuned = subprocess.run(
        [sys.executable, "bench/copies.py", "--seeds", "1"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert tuned.returncode == 2
    assert "chose the thresholds" in tuned.stderr
