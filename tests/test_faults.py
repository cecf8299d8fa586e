"""Every network and content fault, one at a time and all at once: the check fails with a clear
one-line reason, nothing stored is marked removed or edited, other sources carry on, and the
source works again when the fault goes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.faultserver import FAULTS, FaultProxy
from tests.helpers import DaemonProcess, free_port, listening, run_watcher, wait_for, write_config
from tests.sim.wordpress import SimWordPress
from watcher.app import App
from watcher.config import load_config
from watcher.fetch import Fetcher
from watcher.models import ChangeKind, CheckStatus, ReleaseStatus

FAST = {"timeout": "1s", "deadline": "3s", "retries": 0, "max_bytes": "1MB", "min_delay": "0s"}
EXPECTED = {
    "hang": (CheckStatus.FAILED, "timed out (ReadTimeout)"),
    "drip": (CheckStatus.FAILED, "not complete after 0:00:03"),
    "reset": (CheckStatus.FAILED, "network error"),
    "truncate": (CheckStatus.FAILED, "network error"),
    "500": (CheckStatus.FAILED, "HTTP 500"),
    "502": (CheckStatus.FAILED, "HTTP 502"),
    "503": (CheckStatus.FAILED, "HTTP 503"),
    "429": (CheckStatus.DEFERRED, "server asks to wait 3600 s (Retry-After), deferred"),
    "loop": (CheckStatus.FAILED, "too many redirects"),
    "ftp": (CheckStatus.FAILED, "unsupported redirect or scheme"),
    "huge": (CheckStatus.FAILED, "response over 1000000 bytes"),
    "bomb": (CheckStatus.FAILED, "response over 1000000 bytes"),
    # the listing links to /x/, a page with the same bytes, which holds no article
    "cp1252": (CheckStatus.FAILED, "1 page(s) failed, the others were read; first: no article"),
    "garbage": (CheckStatus.FAILED, "1 page(s) failed, the others were read; first: no article"),
    "empty": (CheckStatus.FAILED, "has no items matching"),
    "challenge": (CheckStatus.FAILED, "anti-bot challenge page"),
}


@pytest.fixture
def proxied() -> Iterator[tuple[SimWordPress, FaultProxy]]:
    with SimWordPress() as site, FaultProxy(site.url) as proxy:
        for number in range(3):
            site.add_post(f"Release {number}", f"BALI, 21 February 2019 -- Text {number}.")
        yield site, proxy


def listing(base: str, name: str = "statements", *, site: str | None = None) -> dict[str, Any]:
    """A listing at `base`; when that is a proxy, its items link to the `site` behind it."""
    return {
        "name": name,
        "type": "html",
        "profile": "asean",
        "url": f"{base}/category/news/",
        "http": FAST,
        "follow_hosts": [urlsplit(site).netloc] if site else [],
    }


def untouched(app: App) -> None:
    releases = app.store.releases()
    assert len(releases) == 3
    assert {(r.status, r.versions) for r in releases} == {(ReleaseStatus.ACTIVE, 1)}
    assert {e.kind for e in app.store.recent_changes(100)} == {ChangeKind.NEW}


def test_every_fault_is_named_in_a_table_of_expectations() -> None:
    assert set(EXPECTED) == set(FAULTS)


@pytest.mark.parametrize(
    "fault",
    # these two wait for their timeouts (1 s, 3 s)
    [pytest.param(f, marks=pytest.mark.slow) if f in ("hang", "drip") else f for f in FAULTS],
)
def test_one_fault_fails_the_check_and_changes_nothing(
    fault: str, proxied: tuple[SimWordPress, FaultProxy], make_app: Callable[..., App]
) -> None:
    site, proxy = proxied
    app = make_app([listing(proxy.url, site=site.url), listing(site.url, "healthy")])
    assert [r.status for r in app.check()] == [CheckStatus.OK, CheckStatus.OK]

    proxy.faults["*"] = fault
    faulty, healthy = app.check()
    status, reason = EXPECTED[fault]
    assert faulty.status == status, faulty.error
    assert reason in (faulty.error or "")
    assert "\n" not in (faulty.error or "")
    assert healthy.status == CheckStatus.OK  # other sources are unaffected
    shown = {s.name: s for s in app.store.statuses()}["statements"]
    if status == CheckStatus.FAILED:
        assert shown.consecutive_failures == 1
        assert reason in (shown.last_error or "")
    statements = [r for r in app.store.releases() if r.source == "statements"]
    assert {(r.status, r.versions) for r in statements} == {(ReleaseStatus.ACTIVE, 1)}
    assert {e.kind for e in app.store.recent_changes(100)} == {ChangeKind.NEW}

    proxy.faults.clear()
    if status == CheckStatus.DEFERRED:
        return  # waits for the hour the server asked for
    [again, _] = app.check()
    assert again.status == CheckStatus.OK, again.error
    assert not again.changed


def test_connection_refused_name_resolution_and_connect_timeout(
    proxied: tuple[SimWordPress, FaultProxy], tmp_path: Path
) -> None:
    site, _ = proxied
    closed = f"http://127.0.0.1:{free_port()}"
    sources = [
        listing(closed, "refused"),
        listing("http://no-such-host.invalid", "dns"),
        listing("http://slow-to-connect.invalid", "connect"),
        listing(site.url, "healthy"),
    ]
    real = httpx.HTTPTransport()

    def transport(request: httpx.Request) -> httpx.Response:
        # Tests never ask real DNS: these names fail as resolution and connecting would.
        if request.url.host == "no-such-host.invalid":
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)
        if request.url.host == "slow-to-connect.invalid":
            raise httpx.ConnectTimeout("timed out", request=request)
        return real.handle_request(request)

    fetcher = Fetcher(transport=httpx.MockTransport(transport))
    app = App(load_config(write_config(tmp_path, sources)), fetcher=fetcher)
    results = {r.source: r for r in app.check()}
    assert results["refused"].status == CheckStatus.FAILED
    assert "network error" in (results["refused"].error or "")
    assert "Name or service not known" in (results["dns"].error or "")
    assert "timed out (ConnectTimeout)" in (results["connect"].error or "")
    assert results["healthy"].status == CheckStatus.OK
    app.close()
    real.close()


# What `watcher status` shows for each fault when a daemon starts under it: robots.txt is the
# first request to each host, so it meets the fault first.
AT_START = {
    **{fault: reason for fault, (_, reason) in EXPECTED.items()},
    "500": "robots.txt answers with a server error",
    "502": "robots.txt answers with a server error",
    "503": "robots.txt answers with a server error",
    "429": "server asks to wait 3600 s (Retry-After)",
    "refused": "network error",
    # a new source: nothing known to look at besides the one page, which fails
    "cp1252": "no page could be read (1 failed); first: no article",
    "garbage": "no page could be read (1 failed); first: no article",
}


@pytest.mark.slow
def test_all_faults_at_once_in_one_daemon(tmp_path: Path) -> None:
    with SimWordPress() as site, ExitStack() as stack:
        site.add_post("Release", "Text.")
        proxies = [stack.enter_context(FaultProxy(site.url)) for _ in FAULTS]
        for proxy, fault in zip(proxies, FAULTS, strict=True):
            proxy.faults["*"] = fault
        port = free_port()
        sources = [
            {**listing(p.url, f, site=site.url), "every": "2s"}
            for p, f in zip(proxies, FAULTS, strict=True)
        ]
        sources.append({**listing(f"http://127.0.0.1:{free_port()}", "refused"), "every": "2s"})
        sources.append({**listing(site.url, "healthy"), "every": "2s"})
        config = write_config(tmp_path, sources, **listening(port))
        with DaemonProcess(config, port, tmp_path / "daemon.log") as daemon:
            names = [source["name"] for source in sources]

            def every_source_checked() -> bool:
                done = re.findall(r"watcher\.check: check (\S+): ", daemon.log_text())
                return all(done.count(name) >= 2 for name in names)

            wait_for(every_source_checked, timeout=120, what="two checks of every source")
            assert daemon.process.poll() is None  # still running

            def between_checks() -> tuple[str, dict[str, str]] | None:
                """`watcher status` at a moment no check runs (every 2 s, the slowest take 3 s:
                one in flight shows as `running`, with the error of the one before)."""
                result = run_watcher("status", config=config, timeout=60)
                assert result.returncode == 0, result.stderr
                header, *lines = [line for line in result.stdout.splitlines() if line]
                rows = {line.split()[0]: line for line in lines}
                running = any(row.split()[1] == "running" for row in rows.values())
                return None if running else (header, rows)

            found = wait_for(between_checks, timeout=60, what="a status between checks")
            assert found is not None
            header, rows = found
            assert rows["healthy"].split()[1] == "ok"
            paused = header.index("paused until")
            assert rows["healthy"][paused:].startswith("- ")
            shown = rows["429"][paused : paused + 16] + " +0000"  # status speaks UTC
            until = datetime.strptime(shown, "%Y-%m-%d %H:%M %z")
            wait = until - datetime.now(UTC)
            assert timedelta(minutes=50) < wait <= timedelta(hours=1)  # as Retry-After asks
            assert daemon.get("/feeds/all.atom") is not None  # still serving
            for fault, reason in AT_START.items():
                assert reason in rows[fault], rows[fault]
                assert rows[fault].split()[1] in ("failed", "deferred"), rows[fault]
            assert daemon.stop() == 0
