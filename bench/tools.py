"""The clients under measurement, each run the way its users run it, and what one run cost.

- `WatcherCommand`: `watcher check` as a new process per phase (start-up included), with a
  config of its own (state in a directory of its own).
- `WatcherDaemon`: one long-running process (bench/daemon_child.py) that builds the watcher's
  `App` once and runs `App.check()` when told: a phase without start-up cost.
- `Urlwatch`: urlwatch 2.29 from its own virtual environment (created once, outside the
  repository), one job per release page with a CSS filter that keeps what the watcher keeps.

A process's CPU (user + system) and peak RSS come from its own rusage, `os.wait4()` for a
command, `getrusage(RUSAGE_SELF)` around the check for the daemon: never the server's CPU.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from bench.servers import Requests

ROOT = Path(__file__).resolve().parents[1]
URLWATCH_VERSION = "2.29"
# urlwatch's worker pool (urlwatch/worker.py: MAX_WORKERS = 10, not configurable): the
# watcher gets the same per_host_concurrency
URLWATCH_WORKERS = 10
# What the watcher's `asean` profile reads (title, date, body), as urlwatch's filters
URLWATCH_FILTER = [
    {
        "css": (
            ".elementor-widget-theme-post-title, .elementor-widget-post-info, "
            ".elementor-widget-theme-post-content"
        )
    },
    {"html2text": "re"},
]
SOURCE = "bench"
# The default config's topics: each has its feed, rebuilt with the others after a check
TOPICS = {
    "russia": {"title": "ASEAN–Russia", "preset": "partner/russia"},
    "japan": {"title": "ASEAN–Japan", "preset": "partner/japan"},
}


@dataclass
class Run:
    """What one tool spent on one phase, and what it found."""

    user: float = 0.0
    system: float = 0.0
    wall: float = 0.0
    rss_mb: float = 0.0
    db_bytes: int = 0
    requests: Requests = field(default_factory=Requests)
    found: Counter[str] = field(default_factory=Counter)  # change kind -> count
    errors: int = 0
    ok: bool = True
    note: str = ""

    @property
    def cpu(self) -> float:
        return self.user + self.system


def files_size(*paths: Path) -> int:
    return sum(p.stat().st_size for p in paths if p.exists())


# Linux carries a process's peak RSS over exec: a client started by the benchmark itself
# (which holds a whole archive in memory) would report the benchmark's peak as its own. Each
# client is started by this small launcher instead, whose own few MB are less than any
# client's; it reports the client's rusage from wait4, as JSON, to the file it is given.
LAUNCHER = """\
import json, os, sys, time
report, command = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawnp(command[0], command, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
with open(report, "w") as out:
    json.dump({"user": usage.ru_utime, "system": usage.ru_stime, "wall": wall,
               "maxrss_kb": usage.ru_maxrss, "code": code}, out)
sys.exit(code)
"""


def launched(command: list[str], report: str = os.devnull) -> list[str]:
    return [sys.executable, "-S", "-c", LAUNCHER, report, *command]


def run_process(command: list[str], *, env: dict[str, str] | None, out: IO[bytes]) -> Run:
    """Runs `command` to its end; its own CPU, wall time and peak RSS, from wait4."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        subprocess.run(
            launched(command, report.name),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
        usage = json.loads(Path(report.name).read_text())
    return Run(
        user=usage["user"],
        system=usage["system"],
        wall=usage["wall"],
        rss_mb=usage["maxrss_kb"] / 1024,
        ok=usage["code"] == 0,
        note="" if usage["code"] == 0 else f"exit {usage['code']}",
    )


def watcher_config(directory: Path, source: dict[str, Any]) -> Path:
    """A config whose one source is `source`, state in `directory`, with the politeness the
    benchmark gives both tools: no delay, urlwatch's number of workers."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "watcher.yaml"
    settings = {
        "state_dir": str(directory / "state"),
        "http": {"min_delay": "0s", "per_host_concurrency": URLWATCH_WORKERS},
        "topics": TOPICS,
        "sources": [{"name": SOURCE, **source}],
    }
    path.write_text(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True))
    return path


def watcher_database(config: Path) -> Path:
    return config.parent / "state" / "watcher.db"


def watcher_command() -> list[str]:
    script = Path(sys.executable).parent / "watcher"
    return [str(script)] if script.exists() else [sys.executable, "-m", "watcher"]


class WatcherCommand:
    """`watcher check --all-releases`, one process per phase: every known release read again,
    whatever the revisit policy says (it would read only the due ones, moments after the
    previous check)."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.parent / "check.log"

    def run(self, phase: str) -> Run:
        command = [*watcher_command(), "--config", str(self.config), "check", "--all-releases"]
        with self.log.open("wb") as log:
            run = run_process(command, env=None, out=log)
        output = self.log.read_text(errors="replace")
        run.found = self.parse_counts(output)
        run.db_bytes = database_bytes(self.config)
        if not run.ok:
            run.note += ": " + " | ".join(output.strip().splitlines()[-3:])
        return run

    @staticmethod
    def parse_counts(output: str) -> Counter[str]:
        """The summary table `watcher check` prints: its new, edited and removed columns."""
        lines = output.splitlines()
        for index, line in enumerate(lines):
            headers = line.split()
            if headers[:1] == ["source"] and "edited" in headers:
                for row in lines[index + 1 :]:
                    cells = row.split()
                    if cells[:1] == [SOURCE]:
                        return Counter(
                            {k: int(cells[headers.index(k)]) for k in ("new", "edited", "removed")}
                        )
        return Counter()


def database_bytes(config: Path) -> int:
    database = watcher_database(config)
    return files_size(database, Path(f"{database}-wal"))


class WatcherDaemon:
    """One watcher process for every phase (bench/daemon_child.py): the App built once, then
    `App.check()` per phase, as the daemon runs it, with no start-up cost."""

    def __init__(self, config: Path, *, all_releases: bool = True) -> None:
        self.config = config
        self.all_releases = all_releases
        command = [sys.executable, str(ROOT / "bench" / "daemon_child.py"), str(config)]
        # through the launcher (see LAUNCHER), in a process group of its own, killed whole
        self.process = subprocess.Popen(
            launched(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )
        self.ask(None)  # ready: imported, configured, database open

    def ask(self, order: dict[str, Any] | None) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        if order is not None:
            self.process.stdin.write(json.dumps(order) + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the watcher daemon exited (code {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self, phase: str) -> Run:
        answer = self.ask({"check": SOURCE, "all_releases": self.all_releases})
        return Run(
            user=answer["user"],
            system=answer["system"],
            wall=answer["wall"],
            rss_mb=answer["maxrss_kb"] / 1024,
            db_bytes=database_bytes(self.config),
            found=Counter(answer["counts"]),
            ok=answer["status"] == "ok",
            note="" if answer["status"] == "ok" else f"{answer['status']}: {answer['error']}",
        )

    def advance(self, seconds: float) -> None:
        self.ask({"advance": seconds})

    def feeds(self, repeat: int) -> dict[str, Any]:
        return self.ask({"feeds": repeat})

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # end of input: the child closes the app and exits
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def urlwatch_venv_default() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "watcher-bench" / f"urlwatch-{URLWATCH_VERSION}"


def ensure_urlwatch(venv: Path) -> str:
    """urlwatch 2.29 in its own virtual environment (made once, then reused): its version."""
    binary = venv / "bin" / "urlwatch"
    if not binary.exists():
        print(f"installing urlwatch {URLWATCH_VERSION} into {venv} ...", file=sys.stderr)
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        installed = subprocess.run(
            [*pip, "install", "--quiet", f"urlwatch=={URLWATCH_VERSION}"], check=False
        )
        if installed.returncode != 0:
            raise SystemExit(
                f"could not install urlwatch {URLWATCH_VERSION} from the package index "
                f"into {venv} (see above)"
            )
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    if version != URLWATCH_VERSION:
        raise SystemExit(f"{binary} is urlwatch {version}, not {URLWATCH_VERSION}: remove {venv}")
    return version


class Urlwatch:
    """urlwatch with its own job list, config and cache in `directory`; stdout reports only."""

    REPORTED = re.compile(r"^\d+\. (NEW|CHANGED|ERROR|UNCHANGED): ", re.MULTILINE)

    def __init__(self, venv: Path, directory: Path, pages: list[tuple[str, str]]) -> None:
        self.binary = venv / "bin" / "urlwatch"
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.urls = directory / "urls.yaml"
        self.cache = directory / "cache.db"
        self.settings = directory / "urlwatch.yaml"
        self.log = directory / "report.txt"
        jobs = [{"name": name, "url": url, "filter": URLWATCH_FILTER} for name, url in pages]
        self.urls.write_text(yaml.safe_dump_all(jobs, sort_keys=False))
        # Only the stdout reporter (its default), without colours; every other reporter is
        # off by default (no e-mail). What it shows is its default: new, changed, errors.
        self.settings.write_text(
            yaml.safe_dump(
                {
                    "display": {"new": True, "error": True, "unchanged": False},
                    "report": {
                        "stdout": {"enabled": True, "color": False},
                        "email": {"enabled": False},
                    },
                }
            )
        )
        # its own home: nothing read from or written to the user's ~/.config or ~/.cache
        home = directory / "home"
        home.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
        }

    def run(self, phase: str) -> Run:
        command = [
            str(self.binary),
            "--urls", str(self.urls),
            "--config", str(self.settings),
            "--cache", str(self.cache),
            "--hooks", str(self.directory / "hooks.py"),
        ]  # fmt: skip
        with self.log.open("wb") as log:
            run = run_process(command, env=self.env, out=log)
        report = self.log.read_text(errors="replace")
        verbs = Counter(self.REPORTED.findall(report))
        run.found = Counter({"new": verbs["NEW"], "changed": verbs["CHANGED"]})
        run.errors = verbs["ERROR"]
        run.db_bytes = files_size(self.cache)
        if not run.ok:
            run.note += ": " + " | ".join(report.strip().splitlines()[-3:])
        return run
