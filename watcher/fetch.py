"""HTTP, politely and cheaply: the only module that imports httpx.

One `Fetcher` per process holds the connection pool, the per-host gates (concurrency and the
minimum delay between two requests to one host) and the robots.txt cache, so two sources on one
host share one budget. Each check of a source opens a `FetchSession` with that source's settings,
which counts its requests. With `hosts` (several daemons on one PostgreSQL database), the
concurrency and the delay are also held across every process that shares them.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from watcher.errors import (
    ChallengePage,
    Deferred,
    FetchError,
    FetchNetworkError,
    FetchTimeout,
    HttpStatusError,
    Interrupted,
    OffSite,
    ResponseTooLarge,
    RobotsDisallowed,
)
from watcher.inflate import Inflater
from watcher.models import FetchResult, Gone, NotModified, Page, Validators
from watcher.options import HttpOptions
from watcher.politeness import HostGate, SharedHosts
from watcher.urls import host_key

log = logging.getLogger(__name__)

MAX_REDIRECTS = 10
ROBOTS_REDIRECTS = 5
ROBOTS_TTL = timedelta(hours=6)
ROBOTS_AGENT = "watcher"
FRESH_VALIDATOR = timedelta(seconds=60)
ADMISSION_POLL = 0.05  # seconds between two asks for a host that other processes keep busy
# Told of every request sent: its host (as `follow_hosts` names it), its status (None: no
# answer) and its seconds.
RequestHook = Callable[[str, int | None, float], None]
_CHALLENGE_MARKERS = (
    b"sucuri_cloudproxy_js",  # Sucuri CloudProxy (asean.org, Nov 2021)
    b"<title>just a moment...</title>",  # Cloudflare managed challenge
    b"cf-browser-verification",
    b"/cdn-cgi/challenge-platform/",
    b"<title>attention required! | cloudflare</title>",
    b"_incapsula_resource",
    b"<title>ddos-guard</title>",
    b"the requested url was rejected. please consult with your administrator.",
    b"<title>you are being redirected...</title>",
)


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str


class _Retry(Exception):
    """A failure worth another attempt (5xx, 429, a dropped connection)."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class Fetcher:
    """Requests go to an httpx transport (a pool of keep-alive connections) directly: this
    module already does what a Client adds (redirects hop by hop, auth for one host, the
    headers), and keeps no cookies, so every reading is the same anonymous visit. Without the
    Client's layers a request costs a third less CPU, which is most of a cycle that finds
    nothing new."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        hosts: SharedHosts | None = None,
        on_request: RequestHook | None = None,
    ) -> None:
        self.transport = transport or httpx.HTTPTransport()
        self.clock = clock
        self.hosts = hosts
        self.on_request = on_request  # the metrics' count, by host
        self.stop = threading.Event()
        self._gates: dict[str, HostGate] = {}
        self._robots: dict[str, tuple[float, RobotFileParser | None]] = {}
        self._lock = threading.Lock()

    def session(
        self,
        settings: HttpOptions,
        *,
        home: str | None = None,
        follow_hosts: Iterable[str] = (),
        auth: tuple[str, str] | None = None,
    ) -> FetchSession:
        return FetchSession(self, settings, home=home, follow_hosts=follow_hosts, auth=auth)

    def close(self) -> None:
        self.transport.close()

    def sleep(self, seconds: float) -> None:
        if seconds > 0 and self.stop.wait(seconds):
            raise Interrupted("stopping")

    def gate(self, host: str) -> HostGate:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:  # once per host, not a new gate built and dropped every request
                gate = self._gates[host] = HostGate()
            return gate


class FetchSession:
    """Requests made for one check of one source, with its settings and its counters.

    `home` is the source's own URL: its host, and the `follow_hosts`, are the only hosts this
    session reads from (a redirect elsewhere is refused), and `auth` is sent to its host only."""

    def __init__(
        self,
        fetcher: Fetcher,
        settings: HttpOptions,
        *,
        home: str | None = None,
        follow_hosts: Iterable[str] = (),
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.settings = settings
        self.home = host_key(home) if home else None
        self.home_scheme = urlsplit(home).scheme.lower() if home else None
        self.hosts = frozenset({self.home, *follow_hosts}) if self.home else None
        self.auth = httpx.BasicAuth(*auth) if auth else None
        self.requests = 0
        self.not_modified = 0

    def follows(self, url: str) -> bool:
        """Whether pages at `url` may be read by this session."""
        return self.hosts is None or host_key(url) in self.hosts

    def get(
        self, url: str, *, validators: Validators | None = None, accept: str | None = None
    ) -> FetchResult:
        """GET with conditional headers, retries on 5xx/429 and dropped connections, and every
        cap. Returns the page, NotModified (304) or Gone (404/410); raises a FetchError.

        Redirects are followed here, one hop at a time, so that each hop's host is one this
        session may read and each hop is allowed by its own host's robots.txt."""
        headers = self._request_headers(validators, accept)
        target = url
        for _hop in range(MAX_REDIRECTS + 1):
            if self.fetcher.stop.is_set():
                raise Interrupted("stopping")
            if not self.follows(target):
                where = "redirected to another host" if target != url else "on another host"
                raise OffSite(url, f"{where} ({host_key(target)}, not in follow_hosts)")
            if self.settings.robots:
                self._check_robots(target)
            result = self._with_retries(target, self._headers_for(target, headers))
            if not isinstance(result, _Redirect):
                break
            target = result.location
        else:
            raise FetchNetworkError(url, "too many redirects")
        if isinstance(result, NotModified):
            self.not_modified += 1
        if target != url and isinstance(result, Page):
            result = replace(result, url=url)
        return result

    def _request_headers(self, validators: Validators | None, accept: str | None) -> dict[str, str]:
        headers = {
            "User-Agent": self.settings.user_agent,
            "Accept": accept or "*/*",
            # only what this module inflates itself, under the size cap
            "Accept-Encoding": "gzip, deflate",
            "Connection": "keep-alive",
        }
        if validators is not None and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators is not None and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        return headers

    def _headers_for(self, url: str, headers: dict[str, str]) -> dict[str, str]:
        """With `auth`, to the source's own host only, and never in clear over http when the
        source is on https."""
        scheme = urlsplit(url).scheme.lower()
        if self.auth is None or host_key(url) != self.home:
            return headers
        if scheme not in (self.home_scheme, "https"):
            return headers
        request = next(self.auth.auth_flow(httpx.Request("GET", url)))
        return {**headers, "Authorization": request.headers["Authorization"]}

    def _with_retries(self, url: str, headers: dict[str, str]) -> FetchResult | _Redirect:
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self.fetcher.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(url, headers)
        except _Retry as exc:
            raise exc.error from None
        raise AssertionError("tenacity ends with a result or an exception")

    def _wait(self, state: RetryCallState) -> float:
        backoff = float(min(2 ** (state.attempt_number - 1), 60))
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retry) and error.retry_after is not None:
            return max(error.retry_after, backoff)
        return backoff

    def _once(self, url: str, headers: dict[str, str]) -> FetchResult | _Redirect:
        settings = self.settings
        timeout = settings.timeout.total_seconds()
        host = urlsplit(url).netloc.lower()
        gate = self.fetcher.gate(host)
        gate.enter(settings.per_host_concurrency, self.fetcher.stop)
        slot: int | None = None
        started: float | None = None  # once the request is sent
        status: int | None = None
        try:
            if self.fetcher.hosts is None:
                booked = self._space(gate, self._min_delay(url))
            else:
                slot, booked = self._admitted(self.fetcher.hosts, host, self._min_delay(url))
            # the start the politeness limits gave it (`-v`), whatever the machine's load adds
            log.debug("GET %s, start %s", url, booked.isoformat(timespec="milliseconds"))
            self.requests += 1
            started = self.fetcher.clock()
            request = httpx.Request(
                "GET", url, headers=headers, extensions={"timeout": _timeouts(timeout)}
            )
            response = self.fetcher.transport.handle_request(request)
            response.request = request
            status = response.status_code
            try:
                return self._read(url, response, started)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise FetchTimeout(url, f"timed out ({type(exc).__name__})") from exc
        except httpx.TooManyRedirects as exc:
            raise FetchNetworkError(url, "too many redirects") from exc
        except httpx.UnsupportedProtocol as exc:
            raise FetchNetworkError(url, f"unsupported redirect or scheme ({exc})") from exc
        except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError) as exc:
            error = FetchNetworkError(url, f"network error ({_short(exc)})")
            raise _Retry(error) from exc
        except httpx.HTTPError as exc:
            raise FetchNetworkError(url, f"HTTP error ({_short(exc)})") from exc
        finally:
            if started is not None and self.fetcher.on_request is not None:
                self.fetcher.on_request(host_key(url), status, self.fetcher.clock() - started)
            if slot is not None and self.fetcher.hosts is not None:
                self.fetcher.hosts.leave(slot)
            gate.leave()

    def _admitted(self, hosts: SharedHosts, host: str, min_delay: float) -> tuple[int, datetime]:
        """Waits until every process sharing `hosts` has fewer than `per_host_concurrency`
        requests to `host` in flight and `min_delay` has passed since the last one started;
        the slot it then holds (a process that dies holding one frees it after `hold`)."""
        settings = self.settings
        hold = settings.deadline + settings.timeout * 2
        while True:
            admitted = hosts.admit(
                host,
                limit=settings.per_host_concurrency,
                min_delay=timedelta(seconds=min_delay),
                hold=hold,
            )
            if admitted is not None:
                break
            self.fetcher.sleep(ADMISSION_POLL)
        slot, wait, start = admitted
        try:
            self.fetcher.sleep(wait)
        except Interrupted:
            hosts.leave(slot)
            raise
        return slot, start

    def _space(self, gate: HostGate, min_delay: float) -> datetime:
        """Keep `min_delay` between the starts of two requests to the same host; the start."""
        with gate.lock:
            now = self.fetcher.clock()
            start = max(now, gate.next_start)
            gate.next_start = start + min_delay
        booked = datetime.now(UTC) + timedelta(seconds=start - now)
        self.fetcher.sleep(start - now)
        return booked

    def _read(self, url: str, response: httpx.Response, started: float) -> FetchResult | _Redirect:
        status = response.status_code
        if response.has_redirect_location:
            self._body(url, response, started, limit=65536, fail_when_over=False)
            location = response.headers["location"]
            try:
                target = str(response.url.join(location))
            except httpx.InvalidURL as exc:
                raise FetchNetworkError(url, f"unusable redirect ({location[:80]!r})") from exc
            if urlsplit(target).scheme not in ("http", "https"):
                raise FetchNetworkError(url, f"unsupported redirect or scheme ({target[:80]!r})")
            return _Redirect(target)
        if status in (304, 404, 410):
            # read the (short) body to its end: a connection left mid-response cannot be reused
            self._body(url, response, started, limit=65536, fail_when_over=False)
            return NotModified(url) if status == 304 else Gone(url, status)
        if status >= 400:
            head = self._body(url, response, started, limit=65536, fail_when_over=False)
            challenge_status = status in (401, 403, 429) or status >= 500
            if challenge_status and _is_challenge(response.headers, head):
                raise ChallengePage(url, f"anti-bot challenge page (HTTP {status})")
            if status == 429 or status >= 500:
                retry_after = _retry_after(response.headers.get("retry-after"))
                if retry_after is not None and retry_after > self.settings.max_retry_after:
                    raise Deferred(url, retry_after)
                seconds = retry_after.total_seconds() if retry_after is not None else None
                raise _Retry(HttpStatusError(url, status, head), seconds)
            raise HttpStatusError(url, status, head)
        body = self._body(url, response, started, limit=self.settings.max_bytes)
        if _is_challenge(response.headers, body[:65536]):
            raise ChallengePage(url, "anti-bot challenge page instead of content")
        content_type = response.headers.get("content-type", "")
        etag, last_modified = _strong_validators(response.headers)
        return Page(
            url=url,
            final_url=str(response.url),
            status=status,
            content_type=content_type.split(";", 1)[0].strip().lower(),
            encoding=response.charset_encoding,
            body=body,
            validators=Validators(
                etag=etag,
                last_modified=last_modified,
                body_hash=hashlib.sha256(body).hexdigest(),
            ),
            headers={name.lower(): value for name, value in response.headers.items()},
        )

    def _body(
        self,
        url: str,
        response: httpx.Response,
        started: float,
        *,
        limit: int,
        fail_when_over: bool = True,
    ) -> bytes:
        """Stream the (decompressed) body, never holding more than `limit` bytes, and give up
        at the overall deadline however slowly the server drips.

        gzip and deflate are inflated here, never more than the room left at a time: a few
        kilobytes on the wire that would inflate to gigabytes stop at the cap, in memory too."""
        declared = response.headers.get("content-length", "")
        if fail_when_over and declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(url, f"response of {int(declared)} bytes is over {limit}")
        deadline = started + self.settings.deadline.total_seconds()
        encoding = response.headers.get("content-encoding", "").strip().lower()
        inflate = Inflater.for_encoding(url, encoding)
        if response.is_stream_consumed:  # a body already in memory (a test's transport)
            inflate = None
        stream = response.iter_raw() if inflate else response.iter_bytes()
        chunks: list[bytes] = []
        size = 0
        for raw in stream:
            if self.fetcher.stop.is_set():
                raise Interrupted("stopping")
            chunk = inflate.inflate(raw, limit + 1 - size) if inflate is not None else raw
            size += len(chunk)
            chunks.append(chunk)
            if size > limit or (inflate is not None and inflate.has_more):
                if fail_when_over:
                    raise ResponseTooLarge(url, f"response over {limit} bytes")
                break
            if self.fetcher.clock() > deadline:
                raise FetchTimeout(url, f"not complete after {self.settings.deadline}")
        if inflate is not None and not inflate.complete and size <= limit:
            raise FetchNetworkError(url, "truncated compressed body")
        return b"".join(chunks)[: limit if not fail_when_over else None]

    def _min_delay(self, url: str) -> float:
        delay = self.settings.min_delay.total_seconds()
        robots = self.fetcher._robots.get(_robots_url(url))
        if self.settings.robots and robots and robots[1] is not None:
            crawl_delay = robots[1].crawl_delay(ROBOTS_AGENT)
            if crawl_delay:
                delay = max(delay, min(float(crawl_delay), 60.0))
        return delay

    def _check_robots(self, url: str) -> None:
        robots_url = _robots_url(url)
        cached = self.fetcher._robots.get(robots_url)
        now = self.fetcher.clock()
        if cached is None or now - cached[0] > ROBOTS_TTL.total_seconds():
            rules = self._fetch_robots(robots_url)
            # a robots.txt that answered with a server error is asked for again soon
            fetched_at = now if rules is not None else now - ROBOTS_TTL.total_seconds() + 60
            cached = (fetched_at, rules)
            self.fetcher._robots[robots_url] = cached
        rules = cached[1]
        if rules is None:
            raise RobotsDisallowed(url, "robots.txt answers with a server error, so keeping out")
        if not rules.can_fetch(ROBOTS_AGENT, url):
            raise RobotsDisallowed(url, "disallowed by robots.txt")

    def _fetch_robots(self, robots_url: str) -> RobotFileParser | None:
        """RFC 9309: a 4xx robots.txt means no rules, a 5xx one means keep out (None).
        A network failure is the fetch's own failure, and is not remembered."""
        parser = RobotFileParser(robots_url)
        headers = {"User-Agent": self.settings.user_agent}
        url = robots_url
        try:
            # RFC 9309: at least five redirects are followed, to any host (rules are only read)
            for _hop in range(ROBOTS_REDIRECTS + 1):
                result = self._once(url, self._headers_for(url, headers))
                if not isinstance(result, _Redirect):
                    break
                url = result.location
            else:
                result = None  # no rules found: as if there were none
        except _Retry as exc:
            if isinstance(exc.error, HttpStatusError):
                log.warning("robots.txt %s: %s", robots_url, exc.error)
                return None
            raise exc.error from None
        except HttpStatusError:
            result = None  # 401, 403...: no rules
        parser.parse(
            result.body.decode("utf-8", "replace").splitlines() if isinstance(result, Page) else []
        )
        return parser


@lru_cache(maxsize=16)
def _timeouts(seconds: float) -> dict[str, float]:
    return httpx.Timeout(seconds).as_dict()  # type: ignore[return-value]


def _strong_validators(headers: httpx.Headers) -> tuple[str | None, str | None]:
    """ETag and Last-Modified, unless the page changed within a minute of being served.

    Last-Modified has a resolution of one second, and WordPress derives its feed ETags from it:
    a second change within the same second would answer 304 to validators taken after the
    first. RFC 9110 (8.8.2.2) calls such a Last-Modified weak; the next request is then
    unconditional (and an unchanged body is still not parsed again, by its hash)."""
    etag, last_modified = headers.get("etag"), headers.get("last-modified")
    if last_modified:
        try:
            modified = email.utils.parsedate_to_datetime(last_modified)
            served = email.utils.parsedate_to_datetime(headers.get("date", ""))
            fresh = served - modified < FRESH_VALIDATOR
        except (TypeError, ValueError):
            return etag, last_modified
        if fresh:
            return None, None
    return etag, last_modified


def _robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def _is_challenge(headers: httpx.Headers, head: bytes) -> bool:
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    content_type = headers.get("content-type", "text/html").lower()
    if "html" not in content_type and "text/plain" not in content_type:
        return False
    lowered = head[:65536].lower()
    return any(marker in lowered for marker in _CHALLENGE_MARKERS)


def _retry_after(value: str | None) -> timedelta | None:
    """Retry-After is seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - datetime.now(UTC), timedelta())


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
