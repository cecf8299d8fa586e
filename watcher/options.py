"""What a config resolves to: plain frozen values the stages take (fetch, the sources, the
check, deliveries, the daemon), made once at load by config.py. Nothing here reads YAML or
knows pydantic; a stage never sees the config's classes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from watcher.copies import Thresholds
from watcher.errors import ConfigError
from watcher.profiles import Selectors
from watcher.topics import Topic


class SourceKind(StrEnum):
    """The kinds of source a config can name (`type:`); sources/__init__.py says what each is."""

    WORDPRESS = "wordpress"
    HTML = "html"
    FEED = "feed"


class SubscriptionMode(StrEnum):
    DIGEST = "digest"
    INSTANT = "instant"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


@dataclass(frozen=True, kw_only=True)
class HttpOptions:
    user_agent: str
    timeout: timedelta  # connect, and each read
    deadline: timedelta  # a whole request, however slowly it drips
    max_bytes: int
    per_host_concurrency: int
    min_delay: timedelta  # between the starts of two requests to one host
    robots: bool
    retries: int
    max_retry_after: timedelta


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """HTTP basic authentication; the password stays in the environment until it is sent."""

    username: str
    password_env: str

    def pair(self) -> tuple[str, str]:
        return self.username, os.environ.get(self.password_env, "")


@dataclass(frozen=True, kw_only=True)
class RevisitPolicy:
    """How often a check reads a known release's page again: the new and the recently edited
    at every check, the others at least every `every` (an edit is found within it, a removal
    within twice it); listing pages past the first `first_pages` likewise."""

    fresh: timedelta
    every: timedelta
    first_pages: int


@dataclass(frozen=True, kw_only=True)
class SourceSpec:
    """One source, every setting resolved (its `http:` block merged over the global one, its
    profile and selectors into the selectors it reads pages with)."""

    name: str
    kind: SourceKind
    url: str
    every: timedelta
    jitter: timedelta
    enabled: bool
    sweep_every: timedelta
    check_deadline: timedelta
    check_max_pages: int
    follow_hosts: tuple[str, ...]
    http: HttpOptions
    auth: Credentials | None
    selectors: Selectors
    max_pages: int
    revisit: RevisitPolicy
    copies: str = "link"  # or "separate" (watcher/linking.py)


@dataclass(frozen=True, kw_only=True)
class WordPressSpec(SourceSpec):
    kind: SourceKind = SourceKind.WORDPRESS
    categories: tuple[str, ...] = ()  # slugs; none: every post


@dataclass(frozen=True, kw_only=True)
class HtmlSpec(SourceSpec):
    kind: SourceKind = SourceKind.HTML


@dataclass(frozen=True, kw_only=True)
class FeedSpec(SourceSpec):
    kind: SourceKind = SourceKind.FEED
    follow: bool = True  # read each item's page (else the feed's own content)


@dataclass(frozen=True, kw_only=True)
class SmtpOptions:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None
    password_env: str | None
    timeout: timedelta

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True, kw_only=True)
class EmailOptions:
    smtp: SmtpOptions
    sender: str


@dataclass(frozen=True, kw_only=True)
class Subscription:
    name: str
    to: tuple[str, ...]
    topics: tuple[str, ...]
    mode: SubscriptionMode
    schedule: str  # as written: "daily 08:00"
    cron: str  # the same as a cron line
    timezone: str
    send_empty: bool
    notify_env: tuple[str, ...]  # variables holding apprise URLs (they carry tokens)


@dataclass(frozen=True, kw_only=True)
class HealthOptions:
    unhealthy_after: timedelta
    admin: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ServerOptions:
    listen: str
    base_url: str  # how readers reach the server, without a trailing slash
    # base_url only when the config sets it: the default (the listen address, often 127.0.0.1)
    # reaches nobody but this machine, so feed entries and mail link to the pages only then
    pages_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class FeedOptions:
    title: str
    limit: int


@dataclass(frozen=True)
class Config:
    """The resolved configuration: absolute paths, a usable database URL, and each part as the
    plain values the stages take."""

    path: Path
    state_dir: Path
    database_url: str
    sources: tuple[SourceSpec, ...]
    topics: Mapping[str, Topic]
    subscriptions: tuple[Subscription, ...]
    email: EmailOptions | None
    health: HealthOptions
    server: ServerOptions
    feeds: FeedOptions
    log_level: str
    log_format: str = "text"  # or "json"
    # several daemons on one PostgreSQL database: a lease not renewed for this long is free
    lease_expiry: timedelta = timedelta(minutes=1)
    copies: Thresholds = field(default_factory=Thresholds)

    @property
    def feeds_dir(self) -> Path:
        return self.state_dir / "feeds"

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def pages_url(self) -> str | None:
        return self.server.pages_url

    def watched(self) -> tuple[SourceSpec, ...]:
        """The sources a daemon or `watcher check` checks; none is a config error for them
        (one line naming the file), and a warning for `config check`."""
        return tuple(source for source in self.sources if source.enabled)

    def nothing_to_watch(self) -> str | None:
        """Why no source would be checked, if none would."""
        if not self.sources:
            return f"{self.path}: no sources to watch: add one under `sources:`"
        if not self.watched():
            return f"{self.path}: no sources to watch: every source has `enabled: false`"
        return None

    def source(self, name: str) -> SourceSpec:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"{self.path}: no source named {name!r} (sources: {known})")
