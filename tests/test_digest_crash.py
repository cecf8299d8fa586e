"""Digests under SIGKILL: the process that composes and sends a digest is killed at the
moments that matter (composing, waiting for the server's answer, after the server kept the
message but before it answered) and at random ones, then started again. Every change reaches
exactly one digest, under one Message-ID, and no period is mailed twice.

The clock is given to each process, an hour later each round, so that a digest falls due every
round without waiting for the wall clock."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import re
import signal
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import mail_settings, wordpress_source, write_config
from tests.mailserver import MailServer, part
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.config import load_config

pytestmark = pytest.mark.slow  # a process per delivery round, killed

ROUNDS = 12
START = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)


class KillingMailServer(MailServer):
    """Kills the sending process while it waits for the answer to DATA: either before the
    message is kept (the client must send it again) or after (SMTP's one window: the client
    cannot know, sends it again, and must keep its Message-ID)."""

    def __init__(self) -> None:
        super().__init__()
        self.kill: tuple[int, str] | None = None  # (pid, "before" | "after")
        handler = self._controller.handler
        keep = handler.handle_DATA

        async def handle(*args: Any) -> str:
            if self.kill is not None:
                pid, when = self.kill
                self.kill = None
                if when == "after":
                    await keep(*args)
                os.kill(pid, signal.SIGKILL)
                return "451 4.3.0 the sender is gone"
            return str(await keep(*args))

        handler.handle_DATA = handle


def deliver_due(config: str, now: str) -> None:
    """One delivery round as the daemon runs it, at a given time (in a process of its own)."""
    moment = datetime.fromisoformat(now)
    app = App(load_config(Path(config)), clock=lambda: moment)
    app.prepare()
    app.deliver(due=True)
    app.close()


def run_delivery(config: Path, now: datetime, smtp: KillingMailServer, how: str) -> int | None:
    process = multiprocessing.get_context("spawn").Process(
        target=deliver_due, args=(str(config), now.isoformat())
    )
    process.start()
    assert process.pid is not None
    timer = None
    if how in ("before", "after"):
        smtp.kill = (process.pid, how)
    elif how.startswith("after "):
        timer = threading.Timer(float(how.split()[1]), _kill, (process.pid,))
        timer.start()
    process.join(timeout=60)
    if timer is not None:
        timer.cancel()
    smtp.kill = None
    return process.exitcode


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have ended just before
        os.kill(pid, signal.SIGKILL)


def test_killed_digests_are_sent_once_and_miss_nothing(tmp_path: Path) -> None:
    rng = random.Random(7)
    published: list[str] = []
    killed = 0
    with SimWordPress(api="on") as site, KillingMailServer() as smtp:
        site.add_post("Russia, an old statement", "The Russian Federation, before.")
        config = write_config(
            tmp_path,
            [wordpress_source(site, every="1h", sweep_every="0s")],
            **mail_settings(smtp.port, mode="digest", schedule="0 * * * *", timezone="UTC"),
        )
        checker = App(load_config(config), clock=lambda: START)
        checker.prepare()
        checker.check()  # the baseline
        checker.close()
        # every way to die, in a random order, after a first round that times a clean one
        ways = ["before", "after", "timed"] * 3 + ["none"] * (ROUNDS - 10)
        rng.shuffle(ways)
        clean_seconds = 0.0
        for round_number, way in enumerate(["none", *ways], start=1):
            for number in range(rng.randint(1, 3)):
                title = f"Russia statement {round_number}.{number}"
                site.add_post(title, f"The Russian Federation and ASEAN, {round_number}.{number}.")
                published.append(title)
            checked_at = START + timedelta(hours=round_number, minutes=-20)
            checker = App(load_config(config), clock=lambda at=checked_at: at)  # type: ignore[misc]
            checker.check()
            checker.close()
            now = START + timedelta(hours=round_number)
            how = way
            if way == "timed":  # late in the process's life (starting takes most of it):
                # while it reads the database, composes, writes the outbox or sends
                how = f"after {rng.uniform(0.65, 1.0) * clean_seconds:.2f}"
            began = time.monotonic()
            exit_code = run_delivery(config, now, smtp, how)
            if round_number == 1:
                clean_seconds = time.monotonic() - began
            if exit_code == -signal.SIGKILL:
                killed += 1
                assert run_delivery(config, now, smtp, "none") == 0  # the restart
    assert killed >= 6  # the timed kills may come too late, the others never do

    ids_by_title: dict[str, set[str]] = defaultdict(set)
    periods: dict[str, set[str]] = defaultdict(set)  # Message-ID -> subjects seen with it
    for received in smtp.received:
        message = received.message
        body = part(received.message)
        message_id = str(message["Message-ID"])
        periods[message_id].add(str(message["Subject"]))
        for title in re.findall(r"Russia statement \d+\.\d+", body):
            ids_by_title[title].add(message_id)
    assert sorted(ids_by_title) == sorted(published)  # nothing missed
    assert {t: ids for t, ids in ids_by_title.items() if len(ids) > 1} == {}  # nothing twice
    assert all(len(subjects) == 1 for subjects in periods.values())  # a resend is the same mail
    assert not any(
        "old statement" in part(r.message) for r in smtp.received
    )  # the baseline is not news
