"""YAML -> validated pydantic models -> a resolved `Config`.

Everything is checked once, at load, and every problem is reported as one line naming the file,
the line where one is known, and the key path:

    config/watcher.yaml:14: sources[2].every: '15 minutes' is not a duration (use 15m, 1h, 1d)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
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
from watcher.errors import ConfigError
from watcher.profiles import PROFILES, WORDPRESS, Selectors
from watcher.topics import Topic

DEFAULT_CONFIG = Path("config/watcher.yaml")
CONFIG_ENV = "WATCHER_CONFIG"
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

    def credentials(self) -> tuple[str, str]:
        return self.username, os.environ.get(self.password_env, "")


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
SOURCE_TYPES = ("wordpress", "html", "feed")
# Errors raised by this module's validators, whose message is already what a user should read.
_OWN_MESSAGES = frozenset(
    {
        "duration", "size", "url", "css", "profile", "listen", "every", "database", "selectors",
        "unique", "schedule", "timezone", "term", "address", "preset", "host",
    }
)  # fmt: skip


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
    server: ServerSettings = ServerSettings()
    http: HttpSettings = HttpSettings()
    feeds: FeedSettings = FeedSettings()
    sources: list[SourceConfig] = []
    topics: dict[Name, TopicConfig] = {}
    email: EmailSettings | None = None
    subscriptions: list[SubscriptionConfig] = []
    health: HealthSettings = HealthSettings()

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


@dataclass(frozen=True)
class Config:
    """The resolved configuration: absolute paths, a usable database URL."""

    path: Path
    state_dir: Path
    database_url: str
    settings: Settings
    topics: Mapping[str, Topic] = field(default_factory=dict)

    @property
    def sources(self) -> list[WordPressSourceConfig | HtmlSourceConfig | FeedSourceConfig]:
        return list(self.settings.sources)

    @property
    def feeds_dir(self) -> Path:
        return self.state_dir / "feeds"

    @property
    def base_url(self) -> str:
        server = self.settings.server
        return (server.base_url or f"http://{server.listen}").rstrip("/")

    def source(self, name: str) -> WordPressSourceConfig | HtmlSourceConfig | FeedSourceConfig:
        for source in self.settings.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.settings.sources) or "none configured"
        raise ConfigError(f"{self.path}: no source named {name!r} (sources: {known})")


def config_path(option: str | os.PathLike[str] | None) -> Path:
    """--config, else $WATCHER_CONFIG, else config/watcher.yaml."""
    if option:
        return Path(option)
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: the config is not UTF-8 text") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    try:
        lines = _key_lines(yaml.compose(text), path, text)
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: plain values only
    except _UnreadableValue as exc:
        line = f"{exc.problem_mark.line + 1}:" if exc.problem_mark else ""
        raise ConfigError(f"{path}:{line} a value YAML cannot read: {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        line = f"{exc.problem_mark.line + 1}:" if exc.problem_mark else ""
        problem = exc.problem or str(exc)
        raise ConfigError(f"{path}:{line} YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax error: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the config must be a mapping of keys to values")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, lines)) from None
    return _resolve(settings, path, lines)


def _resolve(settings: Settings, path: Path, lines: dict[tuple[Any, ...], int]) -> Config:
    def fail(loc: tuple[Any, ...], message: str) -> ConfigError:
        line = _line_for(loc, lines)
        return ConfigError(
            f"{path}:{line}: {_dotted(loc)}: {message}" if line else f"{path}: {message}"
        )

    base = path.parent.resolve()
    state_dir = (base / settings.state_dir).resolve()
    if settings.database_env:
        url = os.environ.get(settings.database_env)
        if not url:
            raise fail(
                ("database_env",), f"environment variable {settings.database_env} is not set"
            )
    else:
        url = settings.database or f"sqlite:///{state_dir / 'watcher.db'}"
    names: set[str] = set()
    for index, subscription in enumerate(settings.subscriptions):
        loc: tuple[Any, ...] = ("subscriptions", index)
        if subscription.name in names:
            raise fail((*loc, "name"), f"two subscriptions are named {subscription.name!r}")
        names.add(subscription.name)
        for number, topic in enumerate(subscription.topics):
            if topic not in settings.topics:
                known = ", ".join(settings.topics) or "none configured"
                raise fail((*loc, "topics", number), f"{topic!r} is not a topic (topics: {known})")
        if subscription.to and settings.email is None:
            raise fail((*loc, "to"), "sending mail needs an `email:` section (smtp, from)")
        for number, variable in enumerate(subscription.notify_env):
            if not os.environ.get(variable):
                raise fail(
                    (*loc, "notify_env", number), f"environment variable {variable} is not set"
                )
    for index, source in enumerate(settings.sources):
        auth = source.auth
        if auth is not None and not os.environ.get(auth.password_env):
            raise fail(
                ("sources", index, "http", "auth", "password_env"),
                f"environment variable {auth.password_env} is not set",
            )
    if settings.health.admin and settings.email is None:
        raise fail(("health", "admin"), "mailing the admin needs an `email:` section (smtp, from)")
    smtp = settings.email.smtp if settings.email else None
    mails = any(s.to for s in settings.subscriptions) or bool(settings.health.admin)
    if smtp and smtp.password_env and mails and not os.environ.get(smtp.password_env):
        raise fail(
            ("email", "smtp", "password_env"),
            f"environment variable {smtp.password_env} is not set",
        )
    return Config(
        path=path,
        state_dir=state_dir,
        database_url=_absolute_sqlite(url, base),
        settings=settings,
        topics={name: topic.to_topic(name) for name, topic in settings.topics.items()},
    )


def _absolute_sqlite(url: str, base: Path) -> str:
    """A relative SQLite path is relative to the config file, not to the working directory."""
    match = re.fullmatch(r"sqlite(\+\w+)?:///(.*)", url)
    if not match or not match.group(2) or match.group(2).startswith("/"):
        return url
    if match.group(2) == ":memory:":
        return url
    driver = match.group(1) or ""
    return f"sqlite{driver}:///{(base / match.group(2)).resolve()}"


class _UnreadableValue(yaml.constructor.ConstructorError):
    pass


class _Loader(yaml.SafeLoader):
    """A value YAML recognises but cannot build (a date such as 2026-13-45) is an error at its
    line, as a syntax error is."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, AttributeError) as exc:
            raise _UnreadableValue(None, None, str(exc), node.start_mark) from None


# a node's text that starts with a tag (after an anchor, if any); a plain value cannot
_EXPLICIT_TAG = re.compile(r"(?:&\S+\s+)?(![^\s\[\]{},]*)")


def _key_lines(node: yaml.Node | None, path: Path, text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path ('sources', 2, 'every') to its 1-based line in the file. A key given
    twice in one mapping is an error: YAML would silently keep the last one. So is a tag: some
    (!!python/object...) would make a config run code, and a config holds plain values only."""
    lines: dict[tuple[Any, ...], int] = {}

    def walk(current: yaml.Node, prefix: tuple[Any, ...]) -> None:
        tag = _EXPLICIT_TAG.match(text, current.start_mark.index)
        if tag:
            where = f"{_dotted(prefix)}: " if prefix else ""
            hint = ""
            if "env" in tag.group(1).lower():
                hint = (
                    " (secrets come from the environment: database_env, password_env, notify_env)"
                )
            raise ConfigError(
                f"{path}:{current.start_mark.line + 1}: {where}the YAML tag {tag.group(1)} is "
                f"not allowed: a config holds plain values only{hint}"
            )
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    where = f"{_dotted(prefix)}: " if prefix else ""
                    raise ConfigError(f"{path}:{line}: {where}a key must be a plain name")
                key = (*prefix, key_node.value)
                if key in lines:
                    raise ConfigError(
                        f"{path}:{line}: {_dotted(key)}: given twice (first on line {lines[key]})"
                    )
                lines[key] = line
                walk(value_node, key)
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                key = (*prefix, index)
                lines[key] = item.start_mark.line + 1
                walk(item, key)

    if node is not None:
        lines[()] = node.start_mark.line + 1
        walk(node, ())
    return lines


def _describe(exc: ValidationError, path: Path, lines: dict[tuple[Any, ...], int]) -> str:
    """The first problem, as one line; the count of the others, if any."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = _data_loc(tuple(first["loc"]))
    line = _line_for(loc, lines)
    where = f"{path}:{line}" if line else str(path)
    message = f"{where}: {_dotted(loc) or '(top level)'}: {_message(first)}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return message


def _data_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop what pydantic adds to a location that is not in the YAML: the union tag."""
    out: list[Any] = []
    for index, part in enumerate(loc):
        if index > 0 and isinstance(loc[index - 1], int) and part in SOURCE_TYPES:
            continue
        out.append(part)
    return tuple(out)


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing (required)"
    if kind == "union_tag_invalid":
        return f"{error['ctx']['tag']!r} is not a source type (use {', '.join(SOURCE_TYPES)})"
    if kind == "union_tag_not_found":
        return f"`type:` is missing (use {', '.join(SOURCE_TYPES)})"
    if kind in _OWN_MESSAGES:
        return str(error["msg"])
    if kind == "string_pattern_mismatch":
        return f"{value!r} may use only a-z, 0-9, '-', '_' and '.', starting with a letter or digit"
    if kind == "literal_error":
        return f"{value!r} is not one of {error['ctx']['expected']}"
    return f"{error['msg'][0].lower()}{error['msg'][1:]} (got {value!r})"
