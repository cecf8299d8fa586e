"""A daemon killed (SIGKILL) at random moments while it mails, then restarted: every change is
mailed, and never under two different Message-IDs."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    DaemonProcess,
    free_port,
    listening,
    mail_settings,
    wait_for,
    wordpress_source,
    write_config,
)
from tests.mailserver import MailServer
from tests.sim.wordpress import SimWordPress

pytestmark = pytest.mark.slow  # a daemon killed ten times

KILLS = 10


class SlowMailServer(MailServer):
    """Takes its time to accept a message: the window for a kill mid-delivery is wide open."""

    def __init__(self) -> None:
        super().__init__()
        handler = self._controller.handler
        accept = handler.handle_DATA

        async def slow(*args: Any) -> str:
            await asyncio.sleep(0.15)
            return str(await accept(*args))

        handler.handle_DATA = slow


def test_random_kills_lose_nothing_and_never_mail_a_change_twice(tmp_path: Path) -> None:
    rng = random.Random(20261130)  # reproducible, and different moments for each kill
    titles: list[str] = []
    with SimWordPress(api="on") as site, SlowMailServer() as smtp:
        site.add_post("An old statement", "Before the watcher started.")
        port = free_port()
        config = write_config(
            tmp_path,
            [wordpress_source(site, every="1s", sweep_every="1h")],
            **listening(port),
            **mail_settings(smtp.port, mode="instant"),
        )
        for round_number in range(KILLS + 1):
            with DaemonProcess(config, port, tmp_path / f"daemon-{round_number}.log") as daemon:
                wait_for(daemon.serving, what="the daemon")
                if round_number == 0:  # what is there before the first check is its baseline
                    wait_for(
                        lambda d=daemon: "check asean: ok" in d.log_text(),  # type: ignore[misc]
                        what="the baseline",
                    )
                for number in range(3):
                    title = f"Russia and ASEAN, statement {round_number}.{number}"
                    site.add_post(
                        title, f"The Russian Federation and ASEAN, text {round_number}.{number}."
                    )
                    titles.append(title)
                    time.sleep(rng.uniform(0.0, 0.4))
                if round_number < KILLS:
                    time.sleep(rng.uniform(0.2, 2.0))
                    daemon.kill()
                else:
                    wanted = {f"[ASEAN–Russia] New: {t}" for t in titles}

                    def delivered(wanted: set[str] = wanted) -> bool:
                        return wanted <= {str(m["Subject"]) for m in smtp.messages()}

                    wait_for(
                        delivered,
                        timeout=120,
                        what="every mail",
                    )
                    assert daemon.stop() == 0

        ids_by_subject: dict[str, set[str]] = defaultdict(set)
        for message in smtp.messages():
            ids_by_subject[str(message["Subject"])].add(str(message["Message-ID"]))
    assert set(ids_by_subject) == {f"[ASEAN–Russia] New: {t}" for t in titles}  # nothing missed
    twice = {subject: ids for subject, ids in ids_by_subject.items() if len(ids) > 1}
    assert twice == {}  # a resend (SMTP's one window) keeps its Message-ID
    assert "An old statement" not in " ".join(ids_by_subject)  # the baseline is never mailed
