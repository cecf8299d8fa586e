"""`make bench-copies`: how well and how fast re-posts are linked to their origin.

1. Precision and recall of linking on corpora generated with seeds that were not used to choose
   the thresholds (tests/corpus_copies.py; the thresholds were chosen on seed 1): every release
   of a corpus added to one index in the corpus's shuffled order, the pairs the index put in one
   story compared with the pairs that are copies.
2. The cost of matching one new release against STORED stored ones (10,000), its signature
   computed included: the median and 95th percentile over QUERIES releases of another corpus
   (re-posts among them, so that candidates are verified too). Target: under 5 ms.
3. The index's memory at that size (tracemalloc: Python and numpy allocations).

Usage: python bench/copies.py [--seeds 11 12 13 14 15] [--stored 10000] [--queries 300] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.corpus_copies import FROZEN_SEED, generate, linked_pairs
from watcher.copies import CopyIndex, Release

TARGET_MS = 5.0
QUERY_SEED = 1000  # the releases matched against the stored ones: a corpus of its own


def quality(seed: int, meetings: int) -> dict[str, float | int]:
    corpus = generate(seed, meetings)
    index = CopyIndex()
    for release in corpus.releases:
        index.add(release)
    linked = linked_pairs(index.stories())
    right = len(linked & corpus.copies)
    return {
        "seed": seed,
        "releases": len(corpus.releases),
        "copies": len(corpus.copies),
        "linked": len(linked),
        "siblings_linked": len(linked & corpus.siblings),
        "precision": right / len(linked) if linked else 1.0,
        "recall": right / len(corpus.copies) if corpus.copies else 1.0,
    }


def stored_releases(count: int) -> list[Release]:
    """`count` releases from corpora of seeds used for nothing else, ids made unique."""
    found: list[Release] = []
    seed = 2000
    while len(found) < count:
        corpus = generate(seed, 1000, with_real=False)
        found.extend(replace(r, id=f"{seed}:{r.id}") for r in corpus.releases)
        seed += 1
    return found[:count]


def cost(stored: int, queries: int) -> dict[str, float | int]:
    releases = stored_releases(stored)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = CopyIndex()
    for release in releases:
        index.add(release)
    memory = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # the queries: a corpus of its own, its re-posts matched against their origins stored too
    corpus = generate(QUERY_SEED, queries * 2, with_real=False)
    asked = list(corpus.releases)
    for release in asked[: len(asked) // 2]:
        index.add(release)
    times, linked = [], 0
    for release in asked[len(asked) // 2 :][:queries]:
        start = time.perf_counter()
        found = index.match(release)
        times.append((time.perf_counter() - start) * 1000)
        linked += found is not None
    times.sort()
    return {
        "stored": len(index),
        "queries": len(times),
        "queries_linked": linked,
        "median_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, round(0.95 * len(times)))],
        "memory_mib": memory / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13, 14, 15])
    parser.add_argument("--meetings", type=int, default=200, help="Secretariat releases a corpus")
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--json", type=Path, help="write the numbers to this file too")
    args = parser.parse_args()
    if FROZEN_SEED in args.seeds:
        parser.error(f"seed {FROZEN_SEED} chose the thresholds: measure on other seeds")

    print("Linking on corpora not used for tuning")
    print(f"{'seed':>6} {'releases':>9} {'copies':>7} {'linked':>7} {'siblings':>9} {'precision':>10} {'recall':>7}")  # fmt: skip
    runs = [quality(seed, args.meetings) for seed in args.seeds]
    for run in runs:
        print(
            f"{run['seed']:>6} {run['releases']:>9} {run['copies']:>7} {run['linked']:>7} "
            f"{run['siblings_linked']:>9} {run['precision']:>10.1%} {run['recall']:>7.1%}"
        )
    copies = sum(int(run["copies"]) for run in runs)
    linked = sum(int(run["linked"]) for run in runs)
    right = sum(round(float(run["recall"]) * int(run["copies"])) for run in runs)
    precision, recall = (right / linked if linked else 1.0), right / copies
    print(f"{'all':>6} {'':>9} {copies:>7} {linked:>7} {'':>9} {precision:>10.1%} {recall:>7.1%}")

    measured = cost(args.stored, args.queries)
    met = "met" if measured["p95_ms"] < TARGET_MS else "NOT met"
    print(
        f"\nMatching one new release against {measured['stored']:,} stored ones (signature "
        f"included), {measured['queries']} queries, {measured['queries_linked']} of them copies: "
        f"median {measured['median_ms']:.2f} ms, p95 {measured['p95_ms']:.2f} ms "
        f"(target {TARGET_MS:.0f} ms: {met})"
    )
    print(f"Index memory at {args.stored:,} releases: {measured['memory_mib']:.1f} MiB")
    if args.json:
        numbers = {"quality": runs, "precision": precision, "recall": recall, "cost": measured}
        args.json.write_text(json.dumps(numbers, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
