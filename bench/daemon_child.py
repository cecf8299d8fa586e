"""The watcher as a long-running process, for the benchmark: the app is built once (imports,
config, database), then every line read from stdin runs one check of the source named and
answers one JSON line: the CPU this process spent on it (user, system), wall seconds, peak RSS
so far, changes by kind, requests. End of input closes the app.

Usage: python bench/daemon_child.py CONFIG SOURCE
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from watcher.app import App
    from watcher.config import load_config

    config, source = Path(sys.argv[1]), sys.argv[2]
    app = App(load_config(config))
    app.prepare()
    print(json.dumps({"ready": True}), flush=True)
    for _phase in sys.stdin:
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        [result] = app.check([source])
        after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
        answer = {
            "user": after.ru_utime - before.ru_utime,
            "system": after.ru_stime - before.ru_stime,
            "wall": wall,
            "maxrss_kb": after.ru_maxrss,
            "counts": {str(kind): count for kind, count in result.counts.items()},
            "requests": result.requests,
            "not_modified": result.not_modified,
            "status": str(result.status),
            "error": result.error,
        }
        print(json.dumps(answer), flush=True)
    app.close()


if __name__ == "__main__":
    main()
