"""A source failing for too long: one "unhealthy" entry and one mail to the admin, one
"recovered" when it works again; never one per cycle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest

from tests.helpers import ShiftedClock, email_settings, wordpress_source
from tests.mailserver import MailServer
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.models import CheckStatus

# The store's behaviour, on SQLite and on PostgreSQL.
pytestmark = pytest.mark.databases


def test_unhealthy_once_recovered_once(
    site: SimWordPress, make_app: Callable[..., App], tmp_path: Path
) -> None:
    site.add_post("One", "Text.")
    clock = ShiftedClock()
    with MailServer() as smtp:
        app = make_app(
            [wordpress_source(site)],
            clock=clock,
            email=email_settings(smtp.port),
            health={"unhealthy_after": "2h", "admin": ["ops@example.org"]},
        )
        app.check()
        site.challenge = True
        for _ in range(6):  # 6 failing checks over 6 x 7 hours
            results = app.check()
            assert results[0].status in (CheckStatus.FAILED, CheckStatus.DEFERRED)
            clock.advance(timedelta(hours=7))
        site.challenge = False
        app.check()
        app.check()

        health = feedparser.parse((tmp_path / "state" / "feeds" / "health.atom").read_bytes())
        assert health.bozo == 0
        assert [e.title for e in health.entries] == ["Recovered: asean", "Unhealthy: asean"]
        assert "anti-bot challenge page" in health.entries[1].content[0].value
        subjects = [str(m["Subject"]) for m in smtp.messages()]
        assert subjects == [
            "[watcher] source asean is unhealthy",
            "[watcher] source asean has recovered",
        ]
        assert [r.recipients for r in smtp.received] == [("ops@example.org",)] * 2
