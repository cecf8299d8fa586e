"""The config as pydantic models: what each key may hold, checked once at load. Only config*.py
modules use them: the stages take the values config.py resolves them into (options.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from watcher import __version__
from watcher.config_notify import (
    EmailSettings,
    EnvName,
    HealthSettings,
    SubscriptionConfig,
    TopicConfig,
)
from watcher.config_types import Css, Duration, Host, HttpUrl, Name, Size, Strict
from watcher.options import SourceKind
from watcher.profiles import PROFILES, WORDPRESS, Selectors

DEFAULT_USER_AGENT = (
    f"watcher/{__version__} (news watcher; polite, conditional requests; "
    "set http.user_agent to add a contact address)"
)


class HttpSettings(Strict):
    user_agent: str = DEFAULT_USER_AGENT
    timeout: Duration = timedelta(seconds=30)  # connect and each read
    deadline: Duration = timedelta(minutes=2)  # a whole request, however slowly it drips
    max_bytes: Size = 20_000_000
    per_host_concurrency: int = Field(2, ge=1, le=16)
    min_delay: Duration = timedelta(seconds=1)  # between two requests to one host
    robots: bool = True
    retries: int = Field(3, ge=0, le=10)
    max_retry_after: Duration = timedelta(minutes=10)


class HttpAuth(Strict):
    """HTTP basic authentication for one source, sent to that source's own host only."""

    username: str
    password_env: EnvName  # the password itself never sits in the file


class HttpOverrides(Strict):
    """A source's own `http:` block: any field set here wins over the global one; `auth` is
    a source's own."""

    user_agent: str | None = None
    timeout: Duration | None = None
    deadline: Duration | None = None
    max_bytes: Size | None = None
    per_host_concurrency: int | None = Field(None, ge=1, le=16)
    min_delay: Duration | None = None
    robots: bool | None = None
    retries: int | None = Field(None, ge=0, le=10)
    max_retry_after: Duration | None = None
    auth: HttpAuth | None = None


class SelectorsConfig(Strict):
    item: Css | None = None
    next: Css | None = None
    title: Css | None = None
    date: Css | None = None
    content: Css | None = None
    exclude: list[Css] = []

    def to_selectors(self) -> Selectors:
        return Selectors(
            item=self.item,
            next=self.next,
            title=self.title,
            date=self.date,
            content=self.content,
            exclude=tuple(self.exclude),
        )


class RevisitSettings(Strict):
    fresh: Duration = timedelta(days=7)  # published (else first seen) or edited this recently
    every: Duration = timedelta(hours=24)  # every other release read again at least this often
    first_pages: int = Field(2, ge=1)  # listing pages walked at every check; the rest: `every`


class _SourceBase(Strict):
    name: Name
    every: Duration = timedelta(minutes=15)
    jitter: Duration = timedelta()
    enabled: bool = True
    http: HttpOverrides | None = None
    profile: str | None = None
    selectors: SelectorsConfig | None = None
    # How often removals are looked for in full: the WordPress post ids are listed, listing and
    # feed pages are fetched without validators (a feed can answer 304 after a post is trashed).
    sweep_every: Duration = timedelta(hours=1)
    # One check never runs longer or walks more listing (or API) pages than this: it keeps what
    # it read and the next check resumes where it stopped.
    check_deadline: Duration = timedelta(minutes=30)
    check_max_pages: int = Field(1000, ge=1)
    # Hosts besides the source's own whose pages may be read (items, redirects): a feed must not
    # make the watcher read, and publish, what sits on an internal address.
    follow_hosts: list[Host] = []
    revisit: RevisitSettings = RevisitSettings()

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        if value is not None and value not in PROFILES:
            raise PydanticCustomError(
                "profile",
                "{value} is not a profile (use {known})",
                {"value": repr(value), "known": ", ".join(sorted(PROFILES))},
            )
        return value

    @field_validator("every", "check_deadline")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise PydanticCustomError("every", "must be at least 1s")
        return value

    def page_selectors(self) -> Selectors:
        """Where the article is on a page: the profile (else WordPress's usual markup),
        overridden by any selectors given here."""
        base = PROFILES[self.profile] if self.profile else WORDPRESS
        return base.merged(self.selectors.to_selectors()) if self.selectors else base

    def http_settings(self, defaults: HttpSettings) -> HttpSettings:
        if self.http is None:
            return defaults
        overrides = self.http.model_dump(exclude_none=True, exclude={"auth"})
        return defaults.model_copy(update=overrides)

    @property
    def auth(self) -> HttpAuth | None:
        return self.http.auth if self.http else None


class WordPressSourceConfig(_SourceBase):
    type: Literal["wordpress"]
    url: HttpUrl
    categories: list[Annotated[str, Field(min_length=1)]] = []  # slugs; empty = every post
    max_pages: int = Field(0, ge=0)  # baseline pages of 100 posts (0 = the whole history)


class HtmlSourceConfig(_SourceBase):
    type: Literal["html"]
    url: HttpUrl
    max_pages: int = Field(10, ge=0)  # listing pages walked per check (0 = all)

    @model_validator(mode="after")
    def _needs_selectors(self) -> HtmlSourceConfig:
        if self.profile is None and (self.selectors is None or not self.selectors.item):
            raise PydanticCustomError(
                "selectors", "an html source needs `profile:` or `selectors: {item: ...}`"
            )
        return self


class FeedSourceConfig(_SourceBase):
    type: Literal["feed"]
    url: HttpUrl
    follow: bool = True  # fetch each item's article page (else use the feed's own content)
    max_pages: int = Field(1, ge=0)  # feed pages (WordPress `?paged=N`) walked by a baseline


SourceConfig = Annotated[
    WordPressSourceConfig | HtmlSourceConfig | FeedSourceConfig, Field(discriminator="type")
]
SOURCE_TYPES = tuple(kind.value for kind in SourceKind)
# Errors raised by this module's validators, whose message is already what a user should read.
OWN_MESSAGES = frozenset(
    {
        "duration", "size", "url", "css", "profile", "listen", "every", "database", "selectors",
        "unique", "schedule", "timezone", "term", "address", "preset", "host",
    }
)  # fmt: skip


MIN_LEASE_EXPIRY = timedelta(seconds=3)


class ServerSettings(Strict):
    listen: str = "127.0.0.1:8080"
    base_url: HttpUrl | None = None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise PydanticCustomError(
                "listen", "{value} is not HOST:PORT (e.g. 127.0.0.1:8080)", {"value": repr(value)}
            )
        return value


class FeedSettings(Strict):
    title: str = "ASEAN Secretariat news watcher"
    limit: int = Field(50, ge=1, le=1000)


def _database_url(value: Any) -> str:
    text = str(value).strip()
    if not re.match(r"^[A-Za-z][A-Za-z0-9+]*://", text):
        raise PydanticCustomError(
            "database",
            "{value} is not a database URL (e.g. sqlite:///../state/watcher.db, "
            "postgresql://user@host/db)",
            {"value": repr(value)},
        )
    return text


class Settings(Strict):
    state_dir: str = "../state"
    database: Annotated[str, BeforeValidator(_database_url)] | None = None
    database_env: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object a line
    server: ServerSettings = ServerSettings()
    http: HttpSettings = HttpSettings()
    feeds: FeedSettings = FeedSettings()
    sources: list[SourceConfig] = []
    topics: dict[Name, TopicConfig] = {}
    email: EmailSettings | None = None
    subscriptions: list[SubscriptionConfig] = []
    health: HealthSettings = HealthSettings()
    # several daemons on one PostgreSQL database: how long a daemon's claim on a source's
    # check, or on sending the mail, lasts unless it renews it (a dead daemon's work is taken
    # over after that)
    lease_expiry: Duration = timedelta(minutes=1)

    @field_validator("lease_expiry")
    @classmethod
    def _renewable(cls, value: timedelta) -> timedelta:
        if value < MIN_LEASE_EXPIRY:
            raise PydanticCustomError(
                "duration",
                "{value} is too short to renew a lease in time (at least 3s)",
                {"value": repr(f"{value.total_seconds():g}s")},
            )
        return value

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise PydanticCustomError(
                    "unique", "two sources are named {name}", {"name": repr(source.name)}
                )
            seen.add(source.name)
        return sources

    @model_validator(mode="after")
    def _one_database(self) -> Settings:
        if self.database and self.database_env:
            raise PydanticCustomError("database", "set `database` or `database_env`, not both")
        return self
