"""The watcher as a long-running process, for the benchmark: the app is built once (imports,
config, database), then it obeys one JSON line at a time from stdin and answers one JSON line:

- `{"check": SOURCE, "all_releases": true}`: one check (`App.check`, as the daemon runs it);
  the answer has the CPU this process spent on it (user, system), wall seconds, peak RSS so
  far, changes by kind, the check's status;
- `{"advance": SECONDS}`: the app's clock moves forward (a sweep falls due, say);
- `{"feeds": REPEAT}`: every feed rebuilt from the database, REPEAT times; the answer has
  each rebuild's CPU and wall seconds, and the feeds written.

End of input closes the app.

Usage: python bench/daemon_child.py CONFIG
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class ShiftedClock:
    """The real time plus an offset that only moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def measured(work: Any) -> tuple[Any, dict[str, float]]:
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    value = work()
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    return value, {
        "user": after.ru_utime - before.ru_utime,
        "system": after.ru_stime - before.ru_stime,
        "wall": wall,
        "maxrss_kb": after.ru_maxrss,
    }


def main() -> None:
    from watcher.app import App
    from watcher.config import load_config

    clock = ShiftedClock()
    app = App(load_config(Path(sys.argv[1])), clock=clock)
    app.prepare()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        order = json.loads(line)
        answer: dict[str, Any]
        if "check" in order:
            check = partial(
                app.check, [order["check"]], all_releases=bool(order.get("all_releases"))
            )
            [result], answer = measured(check)
            answer |= {
                "counts": {kind.value: count for kind, count in result.counts.items()},
                "requests": result.requests,
                "not_modified": result.not_modified,
                "status": result.status.value,
                "error": result.error,
            }
        elif "advance" in order:
            clock.offset += timedelta(seconds=float(order["advance"]))
            answer = {"now": clock().isoformat()}
        elif "feeds" in order:
            rebuilds = []
            for _ in range(int(order["feeds"])):
                written, cost = measured(app.build_feeds)
                rebuilds.append(cost | {"ok": written})
            feeds = sorted(
                str(p.relative_to(app.config.feeds_dir))
                for p in app.config.feeds_dir.rglob("*.atom")
            )
            answer = {"rebuilds": rebuilds, "feeds": feeds}
        else:
            answer = {"error": f"unknown order {order!r}"}
        print(json.dumps(answer), flush=True)
    app.close()


if __name__ == "__main__":
    main()
