"""Fetching: politeness, conditional requests, retries, caps, challenge pages, robots.txt."""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest

from tests.helpers import FIXTURES
from watcher.config import http_options
from watcher.errors import (
    ChallengePage,
    Deferred,
    FetchNetworkError,
    FetchTimeout,
    HttpStatusError,
    Interrupted,
    ResponseTooLarge,
    RobotsDisallowed,
)
from watcher.fetch import Fetcher
from watcher.models import Gone, NotModified, Page, Validators
from watcher.options import HttpOptions
from watcher.politeness import HostGate

CHALLENGE = (FIXTURES.parent / "sim" / "fixtures" / "challenge-sucuri.html").read_bytes()
CHALLENGE_MINIMAL = (
    FIXTURES.parent / "sim" / "fixtures" / "challenge-sucuri-minimal.html"
).read_bytes()
Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A clock and a sleep that only move when told to: waits are recorded, not waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now


def fetcher_for(handler: Handler, fake: FakeTime | None = None) -> Fetcher:
    fake = fake or FakeTime()
    fetcher = Fetcher(transport=httpx.MockTransport(handler), clock=fake.clock)

    def sleep(seconds: float) -> None:
        if seconds > 0:
            fake.sleeps.append(round(seconds, 3))
            fake.now += seconds

    fetcher.sleep = sleep  # type: ignore[method-assign]
    return fetcher


def settings(**overrides: object) -> HttpOptions:
    values: dict[str, object] = {"robots": False, "min_delay": timedelta(), **overrides}
    return http_options(**values)


def test_sends_user_agent_and_conditional_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304)

    session = fetcher_for(handler).session(settings(user_agent="watcher-test/1 (ops@example.org)"))
    result = session.get(
        "https://asean.org/a/",
        validators=Validators(etag='"abc"', last_modified="Wed, 10 Jun 2026 01:13:55 GMT"),
    )
    assert isinstance(result, NotModified)
    assert seen[0].headers["User-Agent"] == "watcher-test/1 (ops@example.org)"
    assert seen[0].headers["If-None-Match"] == '"abc"'
    assert seen[0].headers["If-Modified-Since"] == "Wed, 10 Jun 2026 01:13:55 GMT"
    assert session.not_modified == 1


def test_page_carries_validators_and_body_hash() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=b"<html>hi</html>",
            headers={"ETag": '"v1"', "Content-Type": "text/html; charset=utf-8"},
        )

    result = fetcher_for(handler).session(settings()).get("https://asean.org/a/")
    assert isinstance(result, Page)
    assert result.validators.etag == '"v1"'
    assert result.encoding == "utf-8"
    assert result.unchanged_since(Validators(body_hash=result.validators.body_hash))


@pytest.mark.parametrize("status", [404, 410])
def test_gone(status: int) -> None:
    result = fetcher_for(lambda r: httpx.Response(status)).session(settings()).get("https://a.org/")
    assert result == Gone("https://a.org/", status)


def test_retries_5xx_with_backoff_then_succeeds() -> None:
    answers = iter([503, 502, 200])
    fake = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), content=b"ok")

    session = fetcher_for(handler, fake).session(settings(retries=3))
    assert isinstance(session.get("https://a.org/"), Page)
    assert session.requests == 3
    assert fake.sleeps == [1.0, 2.0]


def test_gives_up_after_the_retries() -> None:
    session = fetcher_for(lambda r: httpx.Response(500)).session(settings(retries=2))
    with pytest.raises(HttpStatusError, match="HTTP 500"):
        session.get("https://a.org/x")
    assert session.requests == 3


def test_honours_retry_after_within_the_cap() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "30"}), httpx.Response(200)])
    fake = FakeTime()
    session = fetcher_for(lambda r: next(answers), fake).session(settings())
    assert isinstance(session.get("https://a.org/"), Page)
    assert fake.sleeps == [30.0]


def test_retry_after_beyond_the_cap_defers_instead_of_waiting() -> None:
    fake = FakeTime()
    handler = lambda r: httpx.Response(503, headers={"Retry-After": "3600"})  # noqa: E731
    session = fetcher_for(handler, fake).session(settings(max_retry_after=timedelta(minutes=10)))
    with pytest.raises(Deferred) as caught:
        session.get("https://a.org/")
    assert caught.value.retry_after == timedelta(hours=1)
    assert fake.sleeps == []


def test_size_cap_from_content_length_and_while_streaming() -> None:
    big = b"x" * 5000
    session = fetcher_for(lambda r: httpx.Response(200, content=big)).session(
        settings(max_bytes=1000)
    )
    with pytest.raises(ResponseTooLarge):
        session.get("https://a.org/")

    def streamed(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(big))  # no Content-Length

    with pytest.raises(ResponseTooLarge):
        fetcher_for(streamed).session(settings(max_bytes=1000)).get("https://a.org/")


def test_decompressed_size_is_capped() -> None:
    bomb = gzip.compress(b"\0" * 2_000_000)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=httpx.ByteStream(bomb), headers={"Content-Encoding": "gzip"}
        )

    with pytest.raises(ResponseTooLarge):
        fetcher_for(handler).session(settings(max_bytes=100_000)).get("https://a.org/")


@pytest.mark.parametrize("page", [CHALLENGE, CHALLENGE_MINIMAL])
def test_challenge_pages_are_failures_not_content(page: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=page, headers={"Content-Type": "text/html"})

    with pytest.raises(ChallengePage):
        fetcher_for(handler).session(settings()).get("https://asean.org/")


def test_cloudflare_challenge_on_403_is_named_as_such() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            content=b"<html><head><title>Just a moment...</title></head></html>",
            headers={"Content-Type": "text/html", "cf-mitigated": "challenge"},
        )

    with pytest.raises(ChallengePage, match="challenge"):
        fetcher_for(handler).session(settings()).get("https://asean.org/")


def test_timeouts_and_network_errors_become_fetch_errors() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(FetchTimeout):
        fetcher_for(timeout).session(settings()).get("https://a.org/")

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    session = fetcher_for(refused).session(settings(retries=1))
    with pytest.raises(FetchNetworkError, match="connection refused"):
        session.get("https://a.org/")
    assert session.requests == 2


def test_redirect_loop_is_a_network_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": str(request.url)})

    with pytest.raises(FetchNetworkError, match="too many redirects"):
        fetcher_for(handler).session(settings()).get("https://a.org/loop")


def test_robots_txt_is_honoured_and_read_once() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/robots.txt":
            return httpx.Response(200, text="User-agent: *\nDisallow: /private/\n")
        return httpx.Response(200, content=b"ok")

    session = fetcher_for(handler).session(settings(robots=True))
    assert isinstance(session.get("https://a.org/public/1"), Page)
    assert isinstance(session.get("https://a.org/public/2"), Page)
    with pytest.raises(RobotsDisallowed):
        session.get("https://a.org/private/x")
    assert asked == ["/robots.txt", "/public/1", "/public/2"]


def test_robots_txt_missing_means_allowed_and_server_error_means_keep_out() -> None:
    def missing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if request.url.path == "/robots.txt" else 200)

    assert isinstance(
        fetcher_for(missing).session(settings(robots=True)).get("https://a.org/"), Page
    )

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503 if request.url.path == "/robots.txt" else 200)

    with pytest.raises(RobotsDisallowed, match=r"robots\.txt answers with a server error"):
        fetcher_for(broken).session(settings(robots=True, retries=0)).get("https://a.org/")


def test_min_delay_spaces_requests_to_one_host_and_crawl_delay_can_raise_it() -> None:
    fake = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(200, text="User-agent: *\nCrawl-delay: 5\n")
        return httpx.Response(200)

    session = fetcher_for(handler, fake).session(settings(min_delay=timedelta(seconds=2)))
    for number in range(3):
        session.get(f"https://a.org/{number}")
    assert fake.sleeps == [2.0, 2.0]

    polite = FakeTime()
    slow = fetcher_for(handler, polite).session(
        settings(robots=True, min_delay=timedelta(seconds=2))
    )
    for number in range(3):
        slow.get(f"https://a.org/{number}")
    # robots.txt first (then unknown, so 2 s), then Crawl-delay: 5 between the pages
    assert polite.sleeps == [2.0, 5.0, 5.0]


def test_validators_of_a_page_changed_within_the_last_minute_are_not_trusted() -> None:
    """Last-Modified has one-second resolution: a second change in that second would be
    answered 304 to validators taken after the first."""

    def served(last_modified: str) -> Page:
        headers = {
            "ETag": '"e"',
            "Last-Modified": last_modified,
            "Date": "Mon, 30 Nov 2026 12:00:30 GMT",
        }
        handler = lambda r: httpx.Response(200, content=b"x", headers=headers)  # noqa: E731
        result = fetcher_for(handler).session(settings()).get("https://a.org/")
        assert isinstance(result, Page)
        return result

    fresh = served("Mon, 30 Nov 2026 12:00:00 GMT")
    assert (fresh.validators.etag, fresh.validators.last_modified) == (None, None)
    settled = served("Mon, 30 Nov 2026 11:58:00 GMT")
    assert settled.validators.etag == '"e"'
    assert settled.validators.last_modified == "Mon, 30 Nov 2026 11:58:00 GMT"


def test_robots_txt_unreachable_is_the_network_failure_it_is() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    session = fetcher_for(refused).session(settings(robots=True, retries=0))
    with pytest.raises(FetchNetworkError, match="Name or service not known"):
        session.get("https://asean.org/wp-json/")


def test_per_host_concurrency_is_shared_by_every_session() -> None:
    """Two sources on one host share its budget: never more requests in flight than allowed."""
    lock = threading.Lock()
    in_flight, most = 0, 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return httpx.Response(200)

    fetcher = Fetcher(transport=httpx.MockTransport(handler))
    sessions = [fetcher.session(settings(per_host_concurrency=2)) for _ in range(4)]
    threads = [
        threading.Thread(target=lambda s=s: [s.get(f"https://a.org/{n}") for n in range(5)])
        for s in sessions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 2
    assert sum(s.requests for s in sessions) == 20


def test_a_stricter_source_on_a_shared_host_gets_its_own_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whichever source reaches the host first, a request of a source that allows one at a time
    is let through only when nothing else is in flight there (others may follow it in, within
    their own limits)."""
    admitted: list[tuple[int, int]] = []  # (the request's limit, in flight once it is in)
    enter = HostGate.enter

    def watched(gate: HostGate, limit: int, stop: threading.Event) -> None:
        with gate._changed:  # a re-entrant lock: held from admission to the count
            enter(gate, limit, stop)
            admitted.append((limit, gate._in_flight))

    monkeypatch.setattr(HostGate, "enter", watched)

    def handler(request: httpx.Request) -> httpx.Response:
        time.sleep(0.01)
        return httpx.Response(200)

    fetcher = Fetcher(transport=httpx.MockTransport(handler))
    lax = [fetcher.session(settings(per_host_concurrency=4)) for _ in range(3)]
    strict = fetcher.session(settings(per_host_concurrency=1))
    threads = [
        threading.Thread(target=lambda s=s: [s.get(f"https://a.org/lax{n}") for n in range(8)])
        for s in lax
    ]
    threads.append(
        threading.Thread(target=lambda: [strict.get(f"https://a.org/strict{n}") for n in range(8)])
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [count for limit, count in admitted if limit == 1] == [1] * 8
    assert all(count <= limit for limit, count in admitted)


def test_a_body_that_drips_forever_stops_at_the_deadline() -> None:
    fake = FakeTime()

    class Drip(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            while True:
                fake.now += 5  # each byte arrives just inside the read timeout
                yield b"x"

    handler = lambda r: httpx.Response(200, stream=Drip())  # noqa: E731
    session = fetcher_for(handler, fake).session(settings(deadline=timedelta(minutes=2)))
    with pytest.raises(FetchTimeout, match="not complete after 0:02:00"):
        session.get("https://a.org/slow")


def test_a_stopping_process_makes_no_new_request() -> None:
    fetcher = fetcher_for(lambda r: httpx.Response(200))
    fetcher.stop.set()
    with pytest.raises(Interrupted):
        fetcher.session(settings()).get("https://a.org/")


def test_a_compressed_page_is_inflated() -> None:
    page = b"<html>" + b"text " * 10_000 + b"</html>"

    def handler(request: httpx.Request) -> httpx.Response:
        body = gzip.compress(page)
        return httpx.Response(
            200, stream=httpx.ByteStream(body), headers={"Content-Encoding": "gzip"}
        )

    result = fetcher_for(handler).session(settings(max_bytes=100_000)).get("https://a.org/")
    assert isinstance(result, Page)
    assert result.body == page


def test_a_bomb_never_inflates_in_memory() -> None:
    """The cap holds for memory too: inflating stops at the room left, not after a chunk."""
    bomb = gzip.compress(b"\0" * 200_000_000)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=httpx.ByteStream(bomb), headers={"Content-Encoding": "gzip"}
        )

    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            fetcher_for(handler).session(settings(max_bytes=1_000_000)).get("https://a.org/")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # the 200 MB it would inflate to never exist


@pytest.mark.parametrize("encoding", ["gzip, gzip", "br", "zstd"])
def test_encodings_it_does_not_inflate_itself_are_refused(encoding: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Accept-Encoding"] == "gzip, deflate"
        return httpx.Response(
            200, stream=httpx.ByteStream(b"x"), headers={"Content-Encoding": encoding}
        )

    with pytest.raises(FetchNetworkError, match="unsupported Content-Encoding"):
        fetcher_for(handler).session(settings()).get("https://a.org/")


def test_truncated_gzip_is_not_a_page_and_raw_deflate_is() -> None:
    whole = gzip.compress(b"<html>" + b" ".join(str(n).encode() for n in range(5000)))
    cut = whole[: len(whole) // 2]

    def truncated(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=httpx.ByteStream(cut), headers={"Content-Encoding": "gzip"}
        )

    with pytest.raises(FetchNetworkError, match="truncated compressed body"):
        fetcher_for(truncated).session(settings()).get("https://a.org/")

    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = compressor.compress(b"<html>raw deflate</html>") + compressor.flush()

    def deflate(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=httpx.ByteStream(raw), headers={"Content-Encoding": "deflate"}
        )

    page = fetcher_for(deflate).session(settings()).get("https://a.org/")
    assert isinstance(page, Page) and page.body == b"<html>raw deflate</html>"


def test_no_cookie_is_kept_or_sent() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, html="<p>hi</p>", headers={"Set-Cookie": "visitor=42; Path=/"})

    session = fetcher_for(handler).session(settings())
    session.get("https://asean.org/a/")
    session.get("https://asean.org/b/")
    assert seen == [None, None]
