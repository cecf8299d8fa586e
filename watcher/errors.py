"""One exception tree for the whole program.

    WatcherError
    ├── ConfigError                 bad YAML or values; the CLI exits 2 with its one-line message
    ├── StoreError                  the database cannot be opened or upgraded (or, for a command
    │   │                           that only reads, is not there yet or of an older schema)
    │   └── CopyRefused             `db copy` will not start: a bad or non-empty target, or a
    │                               daemon running on the source; the CLI exits 2
    ├── Interrupted                 the process is stopping: checks end at a release boundary
    ├── LimitReached                a check used up its check_deadline or check_max_pages: what
    │                               was read is kept, the next check resumes where it stopped
    └── SourceError                 one check of one source failed; the daemon carries on
        ├── FetchError              one HTTP fetch failed
        │   ├── FetchTimeout        connect/read timeout or the overall deadline
        │   ├── FetchNetworkError   refused, reset, DNS, protocol errors
        │   ├── HttpStatusError     an error status after retries (has .status)
        │   ├── ResponseTooLarge    the body passed the size cap
        │   ├── OffSite             on (or redirected to) a host the source may not read
        │   ├── ChallengePage       an anti-bot or WAF page instead of content
        │   ├── RobotsDisallowed    robots.txt forbids the URL (or cannot be read)
        │   └── Deferred            Retry-After longer than the cap: try again in a later cycle
        ├── ExtractError            a page did not have the expected shape
        ├── ListingEmpty            a listing yielded no items: a failed check, never mass removal
        ├── ApiUnavailable          a REST API did not answer usefully (the caller falls back)
        └── IncompleteWalk          a walk of pages that must be whole was not: nothing removed

Every message is one line that says what and where, so it can be shown as is in logs and in
`watcher check`'s table.
"""

from __future__ import annotations

from datetime import timedelta


class WatcherError(Exception):
    """Base of every error the program expects and reports."""


class ConfigError(WatcherError):
    pass


class StoreError(WatcherError):
    pass


class CopyRefused(StoreError):
    pass


class Interrupted(WatcherError):
    """The process is stopping: give up waiting, stop at the next release boundary."""


class LimitReached(WatcherError):
    """A check reached its `check_deadline` or `check_max_pages`: not a failure of the site."""


class SourceError(WatcherError):
    pass


class FetchError(SourceError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{reason}: {url}")
        self.url = url
        self.reason = reason


class FetchTimeout(FetchError):
    pass


class FetchNetworkError(FetchError):
    pass


class HttpStatusError(FetchError):
    def __init__(self, url: str, status: int, body: bytes = b"") -> None:
        super().__init__(url, f"HTTP {status}")
        self.status = status
        self.body = body  # the start of the error page (a REST API's error code is in it)


class ResponseTooLarge(FetchError):
    pass


class OffSite(FetchError):
    """A page (or a redirect) on a host the source may not read: not its own, not followed."""


class ChallengePage(FetchError):
    pass


class RobotsDisallowed(FetchError):
    pass


class Deferred(FetchError):
    def __init__(self, url: str, retry_after: timedelta) -> None:
        seconds = int(retry_after.total_seconds())
        super().__init__(url, f"server asks to wait {seconds} s (Retry-After), deferred")
        self.retry_after = retry_after


class ExtractError(SourceError):
    pass


class ListingEmpty(SourceError):
    pass


class ApiUnavailable(SourceError):
    pass


class IncompleteWalk(SourceError):
    """A walk of listing or API pages that must be whole to count (an id sweep) was not."""
