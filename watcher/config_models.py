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
from watcher.config_types import Css, Duration, Host, HttpUrl, Name, Share, Size, Strict, Words
from watcher.options import SourceKind
from watcher.profiles import PROFILES, WORDPRESS, Selectors

DEFAULT_USER_AGENT = (
    f"watcher/{__version__} (news watcher; polite, conditional requests; "
    "set http.user_agent to add a contact address)"
)


class HttpSettings(Strict):
    user_agent: str = Field(
        DEFAULT_USER_AGENT,
        description="the User-Agent of every request: say who you are, with a contact address",
    )
    timeout: Duration = Field(
        timedelta(seconds=30), description="connect timeout, and the longest wait for each read"
    )
    deadline: Duration = Field(
        timedelta(minutes=2),
        description="the longest a whole request may take, however slowly it drips",
    )
    max_bytes: Size = Field(
        20_000_000, description="the largest response read (after decompression)"
    )
    per_host_concurrency: int = Field(
        2,
        ge=1,
        le=16,
        description="requests in flight to one host, across all sources (a source's request "
        "waits while that many are; first come, first served)",
    )
    min_delay: Duration = Field(
        timedelta(seconds=1),
        description="between the starts of two requests to one host (a robots.txt "
        "`Crawl-delay` can raise it)",
    )
    robots: bool = Field(True, description="honour robots.txt")
    retries: int = Field(
        3,
        ge=0,
        le=10,
        description="retries after a 5xx, a 429 or a dropped connection, with backoff",
    )
    max_retry_after: Duration = Field(
        timedelta(minutes=10),
        description="a longer `Retry-After` defers the source to a later check instead of waiting",
    )


class HttpAuth(Strict):
    """HTTP basic authentication for one source, sent to that source's own host only."""

    username: str = Field(description="the user name")
    password_env: EnvName = Field(
        description="the environment variable holding the password (never in the file, never shown)"
    )


class HttpOverrides(Strict):
    """A source's own `http:` block: any field set here wins over the global one; `auth` is
    a source's own."""

    user_agent: str | None = Field(None, description="`http.user_agent` for this source")
    timeout: Duration | None = Field(None, description="`http.timeout` for this source")
    deadline: Duration | None = Field(None, description="`http.deadline` for this source")
    max_bytes: Size | None = Field(None, description="`http.max_bytes` for this source")
    per_host_concurrency: int | None = Field(
        None, ge=1, le=16, description="`http.per_host_concurrency` for this source's requests"
    )
    min_delay: Duration | None = Field(
        None, description="`http.min_delay` for this source's requests"
    )
    robots: bool | None = Field(None, description="`http.robots` for this source")
    retries: int | None = Field(None, ge=0, le=10, description="`http.retries` for this source")
    max_retry_after: Duration | None = Field(
        None, description="`http.max_retry_after` for this source"
    )
    auth: HttpAuth | None = Field(
        None,
        description="HTTP basic authentication, sent to the source's own host only, and never "
        "over plain http when the source is on https",
    )


class SelectorsConfig(Strict):
    item: Css | None = Field(
        None, description="listing: one element per release, a link or an element holding one"
    )
    next: Css | None = Field(
        None, description="listing: the link to the next page (the first that leads to a page)"
    )
    title: Css | None = Field(
        None, description="article page: the title (else `og:title`, else `<title>`)"
    )
    date: Css | None = Field(
        None,
        description="article page: the publication date, from a day-archive link "
        "(`/2026/05/07/`), a `datetime` or `content` attribute, or the text (else "
        "`article:published_time` or `time[datetime]`)",
    )
    content: Css | None = Field(None, description="article page: the article region")
    exclude: list[Css] = Field(
        [],
        description="what to leave out of the article region, besides the profile's exclusions",
    )
    day_first: bool | None = Field(
        None,
        description="article page: a date in figures is day first (`05/02/2019` is 5 February, "
        "as most ASEAN sites write it); unset: month first",
    )

    def to_selectors(self) -> Selectors:
        return Selectors(
            item=self.item,
            next=self.next,
            title=self.title,
            date=self.date,
            content=self.content,
            exclude=tuple(self.exclude),
            day_first=self.day_first,
        )


class RevisitSettings(Strict):
    fresh: Duration = Field(
        timedelta(days=7),
        description="a release published (else first seen) or edited this recently is read "
        "again at every check",
    )
    every: Duration = Field(
        timedelta(hours=24),
        description="every other release is read again at least this often, and the rest of a "
        "listing walked",
    )
    first_pages: int = Field(2, ge=1, description="listing pages walked at every check")


class _SourceBase(Strict):
    name: Name = Field(description="the source's name, in logs, feeds, pages and `--source`")
    every: Duration = Field(
        timedelta(minutes=15), description="how often the source is checked (at least `1s`)"
    )
    jitter: Duration = Field(
        timedelta(), description="up to this much is added at random to each interval"
    )
    enabled: bool = Field(True, description="`false`: the source is not checked")
    http: HttpOverrides | None = Field(
        None, description="any of the `http` keys, for this source only, and its `auth`"
    )
    profile: str | None = Field(
        None,
        description=f"where the article is on a page: {' or '.join(f'`{p}`' for p in PROFILES)}"
        " (unset: `wordpress`, WordPress's usual markup)",
    )
    selectors: SelectorsConfig | None = Field(
        None,
        description="CSS selectors that override the profile's, each a list tried in the order "
        "written",
    )
    # A feed can answer 304 after a post is trashed: the sweep fetches without validators.
    sweep_every: Duration = Field(
        timedelta(hours=1),
        description="how often removals are looked for in full (WordPress post ids listed, "
        "listing and feed pages fetched without validators); `0s` = every check",
    )
    check_deadline: Duration = Field(
        timedelta(minutes=30),
        description="the longest one check may run; one that reaches it keeps what it read, "
        "and the next check goes on from there",
    )
    check_max_pages: int = Field(
        1000,
        ge=1,
        description="listing, feed or REST API pages walked in one check (article pages are "
        "bounded by `check_deadline`); past it, likewise",
    )
    # A feed must not make the watcher read, and publish, what sits on an internal address.
    follow_hosts: list[Host] = Field(
        [],
        description="hosts besides the source's own (`example.org`, `127.0.0.1:8080`) whose "
        "pages may be read: items and redirects leading anywhere else are not followed",
    )
    revisit: RevisitSettings = Field(
        RevisitSettings(), description="which known release pages a check reads again"
    )
    copies: Literal["link", "separate"] = Field(
        "link",
        description="a release of this source that re-posts another source's: `link` tells it "
        'as "Also published" under the first one (no NEW entry, no instant mail) and reports '
        "where its words differ; `separate`: a release like any other",
    )

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
    type: Literal["wordpress"] = Field(description="the kind of source: how its releases are found")
    url: HttpUrl = Field(description="the site's address")
    categories: list[Annotated[str, Field(min_length=1)]] = Field(
        [], description="category slugs; none = every post"
    )
    max_pages: int = Field(
        0, ge=0, description="pages of 100 posts a first check reads; `0` = the whole history"
    )


class HtmlSourceConfig(_SourceBase):
    type: Literal["html"] = Field(description="the kind of source: how its releases are found")
    url: HttpUrl = Field(description="the listing's first page")
    max_pages: int = Field(10, ge=0, description="listing pages walked per check; `0` = all")

    @model_validator(mode="after")
    def _needs_selectors(self) -> HtmlSourceConfig:
        if self.profile is None and (self.selectors is None or not self.selectors.item):
            raise PydanticCustomError(
                "selectors", "an html source needs `profile:` or `selectors: {item: ...}`"
            )
        return self


class FeedSourceConfig(_SourceBase):
    type: Literal["feed"] = Field(description="the kind of source: how its releases are found")
    url: HttpUrl = Field(description="the feed (RSS or Atom)")
    follow: bool = Field(
        True, description="read each item's article page; `false` = use the feed's own content"
    )
    max_pages: int = Field(
        1,
        ge=0,
        description="feed pages a first check reads (WordPress feeds page with `?paged=N`; "
        "later checks read the first); `0` = all",
    )


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
    listen: str = Field(
        "127.0.0.1:8080", description="`HOST:PORT` where the feeds and the pages are served"
    )
    base_url: HttpUrl | None = Field(
        None,
        description="how readers reach the server, for the feeds' links (unset: "
        "`http://<listen>`); set, each feed entry and mail also links to the release's page, "
        "`<base_url>/releases/<id>`",
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise PydanticCustomError(
                "listen", "{value} is not HOST:PORT (e.g. 127.0.0.1:8080)", {"value": repr(value)}
            )
        return value


class CopiesSettings(Strict):
    """How re-posts are told apart from other releases; the defaults were measured on a corpus of
    releases, re-posts and next meetings' releases (README, Copies across sources)."""

    window: Duration = Field(
        timedelta(days=7),
        description="two releases are copies only when published within this of each other",
    )
    body: Share = Field(
        0.75,
        description="the least share of 5-word phrases two copies' texts have in common",
    )
    title: Share = Field(0.6, description="the least share of words two copies' titles share")
    number_edits: int = Field(
        1,
        ge=0,
        description="in how many places two copies' figures may differ (an edit made after the "
        "copy); the next meeting's release differs in its ordinal, dates and year",
    )


class FeedSettings(Strict):
    title: str = Field("ASEAN Secretariat news watcher", description="the feeds' title")
    limit: int = Field(50, ge=1, le=1000, description="the most recent changes in a feed")


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


DatabaseUrl = Annotated[str, BeforeValidator(_database_url), Words("database URL", "database URLs")]


class Settings(Strict):
    state_dir: str = Field(
        "../state",
        description="the feed files, and the SQLite database by default; a relative path is "
        "relative to the config file",
    )
    database: DatabaseUrl | None = Field(
        None,
        description="a SQLite URL (a relative path is relative to the config file) or a "
        "PostgreSQL one; unset: `sqlite:///<state_dir>/watcher.db`",
    )
    database_env: str | None = Field(
        None,
        description="the environment variable holding the database URL (keeps a password out "
        "of the file); not with `database`",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="the least important lines logged (`-v` on the command line: `DEBUG`)"
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="readable lines, or one JSON object a line (for a log collector); "
        "`--log-format` on the command line wins",
    )
    server: ServerSettings = Field(
        ServerSettings(), description="where the feeds and the pages are served"
    )
    http: HttpSettings = Field(
        HttpSettings(), description="how pages are requested, for every source"
    )
    feeds: FeedSettings = Field(FeedSettings(), description="the Atom and RSS feeds")
    sources: list[SourceConfig] = Field(
        [],
        description="what to watch; with none (or none enabled) `check` and `run` stop, saying "
        "so, and `config check` warns",
    )
    topics: dict[Name, TopicConfig] = Field(
        {}, description="the releases about one subject, each topic with its own feed"
    )
    email: EmailSettings | None = Field(
        None, description="how mail is sent; without it, nothing is mailed"
    )
    subscriptions: list[SubscriptionConfig] = Field(
        [], description="who is sent the changes of which topics, by mail or chat"
    )
    health: HealthSettings = Field(
        HealthSettings(), description="when a failing source is reported"
    )
    copies: CopiesSettings = Field(
        CopiesSettings(), description="re-posts of one release on several sources"
    )
    # a dead daemon's work is taken over after that
    lease_expiry: Duration = Field(
        timedelta(minutes=1),
        description="several daemons on one PostgreSQL database: how long a daemon's claim on "
        "a source's check, or on sending the mail, lasts unless renewed (at least `3s`)",
    )

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
