"""`make bench-copies`: how well and how fast re-posts are linked to their origin, on the path the
daemon takes: a SQLite database made by `Store.open`, each release written by
`Store.record_observed` with `watcher.linking.Linker` in its transaction, the bands in
`copy_band`, the candidates from one indexed query, the stories in `release.story_id`.

1. Precision and recall of linking on corpora generated with seeds that did not choose the
   thresholds (tests/corpus_copies.py; seed 1 did; 11-15 were measured in earlier reports, so
   the default is fresh ones): every release of a corpus written to a database of its own in
   the corpus's shuffled order, the pairs put in one story compared with the pairs that are
   copies. The in-memory `CopyIndex` of the unit tests is run on the same corpus beside it: a
   difference between the two is a difference of the database path.
2. The cost of matching one new release against STORED stored ones (10,000): its signature, the
   band query, the signing and verification of each candidate (median and 95th percentile over
   QUERIES releases of a corpus of their own, half of it stored so that some are copies; target
   5 ms); then the whole linking stage as a check runs it (the bands written, the story joined,
   the divergence checked; the queries are stored by it, so the last is matched against
   STORED + QUERIES - 1), and the candidates the band query returns.
3. Memory and disk: the process's peak RSS after that run (the daemon keeps no index in memory,
   only the database), what importing numpy adds, and the database's size per 10,000 releases.

Usage: python bench/copies.py [--seeds 21 22 23 24 25] [--meetings 200] [--stored 10000]
       [--queries 300] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bench.copies_db import Daemon, url_of
from tests.corpus_copies import FROZEN_SEED, generate, linked_pairs
from watcher.copies import CopyIndex, Release, sign
from watcher.models import CopyReading, Linked
from watcher.store import copies as stored_copies

TARGET_MS = 5.0
QUERY_SEED = 1000  # the releases matched against the stored ones: a corpus of its own
BACKGROUND_SEED = 2000  # the stored releases besides: corpora of seeds used for nothing else
MIB = 2**20


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB  # Linux: KiB


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def quality(seed: int, meetings: int) -> dict[str, Any]:
    corpus = generate(seed, meetings)
    with tempfile.TemporaryDirectory() as folder:
        daemon = Daemon(Path(folder))
        for release in corpus.releases:
            daemon.record(release)
        linked = daemon.linked_pairs({url_of(r): r.id for r in corpus.releases})
        daemon.close()
    index = CopyIndex()
    for release in corpus.releases:
        index.add(release)
    in_memory = linked_pairs(index.stories())
    right = len(linked & corpus.copies)
    return {
        "seed": seed,
        "releases": len(corpus.releases),
        "copies": len(corpus.copies),
        "linked": len(linked),
        "right": right,
        "siblings_linked": len(linked & corpus.siblings),
        "precision": right / len(linked) if linked else 1.0,
        "recall": right / len(corpus.copies) if corpus.copies else 1.0,
        "in_memory_right": len(in_memory & corpus.copies),
        "in_memory_linked": len(in_memory),
        "differ_from_in_memory": sorted(sorted(pair) for pair in linked ^ in_memory),
    }


def fill(daemon: Daemon, count: int) -> list[float]:
    """`count` releases of background corpora written as checks write them; the ms of each."""
    times: list[float] = []
    seed = BACKGROUND_SEED
    while len(times) < count:
        corpus = generate(seed, 1000, with_real=False)
        for release in corpus.releases[: count - len(times)]:
            start = time.perf_counter()
            daemon.record(release, prefix=f"{seed}/")
            times.append((time.perf_counter() - start) * 1000)
        seed += 1
        progress(f"  {len(times):,} stored")
    return times


def match(daemon: Daemon, release: Release) -> tuple[float, list[Any], dict[str, float]]:
    """Matches a release not stored, as Linker.__call__ does before it writes: the ms it took,
    what it found, and (timed again apart) its signature and band query alone."""
    linker = daemon.linker
    reading = daemon.reading(release, "q/")
    when = release.when
    assert when is not None
    with daemon.store.engine.connect() as connection:
        start = time.perf_counter()
        signed = linker.signed(reading)
        found = linker.found(connection, signed, reading)
        total = (time.perf_counter() - start) * 1000

        start = time.perf_counter()
        signed = sign(signed.release)
        signing = (time.perf_counter() - start) * 1000
        window = linker.thresholds.window
        start = time.perf_counter()
        rows = stored_copies.candidates(
            connection,
            signed.bands(),
            other_than=reading.source_id,
            since=when - window,
            until=when + window,
        )
        query = (time.perf_counter() - start) * 1000
    return total, found, {"sign_ms": signing, "query_ms": query, "candidates": len(rows)}


def cost(stored: int, queries: int) -> dict[str, Any]:
    corpus = generate(QUERY_SEED, queries * 2, with_real=False)
    every = list(corpus.releases)
    kept, asked = every[: len(every) // 2], every[len(every) // 2 :][:queries]
    partners = {
        release.id: {other for pair in corpus.copies if release.id in pair for other in pair}
        - {release.id}
        for release in asked
    }
    kept_ids = {release.id for release in kept}
    with tempfile.TemporaryDirectory() as folder:
        daemon = Daemon(Path(folder))
        sign(kept[0])  # numpy imported, as the daemon's first check imports it
        rss_before = peak_rss_mib()
        progress(f"Storing {stored:,} releases through Store.record_observed and the Linker")
        writes = fill(daemon, stored - len(kept))
        for release in kept:
            start = time.perf_counter()
            daemon.record(release, prefix="q/")
            writes.append((time.perf_counter() - start) * 1000)
        with daemon.store.engine.connect() as connection:
            count = connection.execute(sa.text("SELECT COUNT(*) FROM release")).scalar_one()
            bands = connection.execute(sa.text("SELECT COUNT(*) FROM copy_band")).scalar_one()
        size = daemon.size()

        progress(f"Matching {len(asked)} releases against them")
        totals, parts, expected, right, wrong = [], [], 0, 0, 0
        ids_by_url = {url_of(r, "q/"): r.id for r in kept}
        for release in asked:
            total, found, part = match(daemon, release)
            totals.append(total)
            parts.append(part)
            want = partners[release.id] & kept_ids
            got = {ids_by_url.get(row.url, row.url) for row, _ in found}
            expected += bool(want)
            right += bool(want) and got == want
            wrong += bool(got - want)

        progress("The same releases through the whole linking stage of a check")
        linking: list[float] = []

        def timed(connection: sa.Connection, reading: CopyReading) -> Linked:
            start = time.perf_counter()
            linked = daemon.linker(connection, reading)
            linking.append((time.perf_counter() - start) * 1000)
            return linked

        link: Callable[[sa.Connection, CopyReading], Linked] = timed
        for release in asked:
            daemon.record(release, prefix="q/", link=link)
        daemon.close()
    candidates = [part["candidates"] for part in parts]
    return {
        "peak_rss_before_mib": rss_before,
        "stored": count,
        "bands": bands,
        "queries": len(totals),
        "queries_with_copies_stored": expected,
        "queries_matched_right": right,
        "queries_matched_wrong": wrong,
        "median_ms": statistics.median(totals),
        "p95_ms": percentile(totals, 0.95),
        "max_ms": max(totals),
        "sign_median_ms": statistics.median(part["sign_ms"] for part in parts),
        "query_median_ms": statistics.median(part["query_ms"] for part in parts),
        "query_p95_ms": percentile([part["query_ms"] for part in parts], 0.95),
        "candidates_mean": statistics.fmean(candidates),
        "candidates_max": max(candidates),
        "candidates_zero": sum(1 for c in candidates if c == 0),
        "link_stage_median_ms": statistics.median(linking),
        "link_stage_p95_ms": percentile(linking, 0.95),
        "write_median_ms": statistics.median(writes),
        "db_bytes": size["file"],
        "db_bytes_per_10k": size["file"] * 10_000 / count,
        "bands_bytes_per_10k": size["bands"] * 10_000 / count if "bands" in size else None,
        "versions_bytes_per_10k": size["versions"] * 10_000 / count if "versions" in size else None,
    }


def numpy_rss() -> dict[str, float]:
    """RSS of a fresh process that imported the linking and the store, then numpy. Read from
    /proc (VmRSS): Linux carries ru_maxrss over an exec, the child would show its parent's."""
    code = (
        "import re, watcher.linking, watcher.store\n"
        "def rss():\n"
        "    status = open('/proc/self/status').read()\n"
        "    return int(re.search(r'VmRSS:\\s+(\\d+) kB', status).group(1))\n"
        "before = rss()\n"
        "import numpy\n"
        "print(before, rss())\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    before, after = (int(value) * 1024 for value in out.stdout.split())
    return {"without_numpy_mib": before / MIB, "numpy_extra_mib": (after - before) / MIB}


def report(runs: list[dict[str, Any]], measured: dict[str, Any], memory: dict[str, Any]) -> None:
    print(
        "Linking through the database (Store.record_observed + Linker), seeds not used for tuning"
    )
    print(f"{'seed':>6} {'releases':>9} {'copies':>7} {'linked':>7} {'siblings':>9} {'precision':>10} {'recall':>7} {'in memory':>10}")  # fmt: skip
    for run in runs:
        same = "same" if not run["differ_from_in_memory"] else "DIFFERS"
        print(
            f"{run['seed']:>6} {run['releases']:>9} {run['copies']:>7} {run['linked']:>7} "
            f"{run['siblings_linked']:>9} {run['precision']:>10.1%} {run['recall']:>7.1%} "
            f"{same:>10}"
        )
    copies = sum(run["copies"] for run in runs)
    linked = sum(run["linked"] for run in runs)
    right = sum(run["right"] for run in runs)
    siblings = sum(run["siblings_linked"] for run in runs)
    precision, recall = (right / linked if linked else 1.0), right / copies
    print(
        f"{'all':>6} {sum(r['releases'] for r in runs):>9} {copies:>7} {linked:>7} "
        f"{siblings:>9} {precision:>10.1%} {recall:>7.1%}"
    )
    for run in runs:
        for pair in run["differ_from_in_memory"][:10]:
            print(f"  seed {run['seed']}: the database and the in-memory index differ on {pair}")

    m = measured
    met = "met" if m["p95_ms"] < TARGET_MS else "NOT met"
    print(
        f"\nMatching one new release against {m['stored']:,} stored ones ({m['queries']} queries)"
    )
    rows = [
        ("match: signature, band query, candidates signed and verified", m["median_ms"], m["p95_ms"]),
        ("  of which the signature", m["sign_median_ms"], None),
        ("  of which the band query", m["query_median_ms"], m["query_p95_ms"]),
        ("linking stage of a check (bands written, story joined)", m["link_stage_median_ms"], m["link_stage_p95_ms"]),
        ("whole write of a new release (record_observed)", m["write_median_ms"], None),
    ]  # fmt: skip
    print(f"  {'':<64} {'median':>8} {'p95':>8}")
    for label, median, p95 in rows:
        tail = f"{p95:>6.2f}ms" if p95 is not None else f"{'':>8}"
        print(f"  {label:<64} {median:>6.2f}ms {tail}")
    print(f"  target {TARGET_MS:.0f} ms at the 95th percentile of the match: {met}")
    print(
        f"  candidates from the band query: {m['candidates_mean']:.2f} a query on average, "
        f"at most {m['candidates_max']}, none for {m['candidates_zero']} of {m['queries']}"
    )
    print(
        f"  queries with a copy among the stored: {m['queries_with_copies_stored']}, matched "
        f"to exactly it: {m['queries_matched_right']}; matched to another: "
        f"{m['queries_matched_wrong']}"
    )
    print("\nMemory and disk (no index in memory: the bands are in the database)")
    print(
        f"  peak RSS of this process (ru_maxrss) after the {m['stored']:,}-release run: "
        f"{memory['peak_rss_mib']:.0f} MiB; before storing any: {m['peak_rss_before_mib']:.0f} MiB"
    )
    print(
        f"  a fresh process importing watcher.linking and watcher.store: "
        f"{memory['without_numpy_mib']:.0f} MiB; importing numpy adds "
        f"{memory['numpy_extra_mib']:.0f} MiB"
    )
    per = m["db_bytes_per_10k"] / MIB
    detail = ""
    if m["bands_bytes_per_10k"] is not None:
        detail = (
            f" (copy_band and its indexes {m['bands_bytes_per_10k'] / MIB:.1f} MiB, versions' "
            f"texts {m['versions_bytes_per_10k'] / MIB:.1f} MiB)"
        )
    print(f"  SQLite database per 10,000 releases: {per:.1f} MiB{detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[21, 22, 23, 24, 25],
        help="corpus seeds (not 1, which chose the thresholds; 11-15 were reported before)",
    )
    parser.add_argument("--meetings", type=int, default=200, help="Secretariat releases a corpus")
    parser.add_argument("--stored", type=int, default=10_000, help="releases stored for the cost")
    parser.add_argument("--queries", type=int, default=300, help="releases matched against them")
    parser.add_argument("--json", type=Path, help="write the numbers to this file too")
    args = parser.parse_args()
    if FROZEN_SEED in args.seeds:
        parser.error(f"seed {FROZEN_SEED} chose the thresholds: measure on other seeds")
    if args.queries < 1 or args.stored <= args.queries:
        parser.error("--stored must exceed --queries, and --queries be 1 or more")

    # the cost first: the peak RSS is then that of the database run, not of the corpora above
    measured = cost(args.stored, args.queries)
    memory: dict[str, Any] = {
        "peak_rss_mib": peak_rss_mib(),
        **numpy_rss(),
    }
    runs = []
    for seed in args.seeds:
        progress(f"Linking the corpus of seed {seed}")
        runs.append(quality(seed, args.meetings))
    report(runs, measured, memory)
    if args.json:
        copies = sum(run["copies"] for run in runs)
        linked = sum(run["linked"] for run in runs)
        right = sum(run["right"] for run in runs)
        numbers = {
            "seeds": args.seeds,
            "quality": runs,
            "precision": right / linked if linked else 1.0,
            "recall": right / copies,
            "cost": measured,
            "memory": memory,
        }
        args.json.write_text(json.dumps(numbers, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
