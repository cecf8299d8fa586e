"""YAML -> validated pydantic models -> a resolved `Config`.

Everything is checked once, at load, and every problem is reported as one line naming the file,
the line where one is known, and the key path:

    config/watcher.yaml:14: sources[2].every: '15 minutes' is not a duration (use 15m, 1h, 1d)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from watcher.config_models import (
    OWN_MESSAGES,
    SOURCE_TYPES,
    FeedSourceConfig,
    HtmlSourceConfig,
    HttpOverrides,
    HttpSettings,
    ServerSettings,
    Settings,
    SourceConfig,
    WordPressSourceConfig,
)
from watcher.config_notify import EmailSettings, SubscriptionConfig, cron_expression
from watcher.copies import Thresholds
from watcher.errors import ConfigError
from watcher.options import (
    Config,
    Credentials,
    EmailOptions,
    FeedOptions,
    FeedSpec,
    HealthOptions,
    HtmlSpec,
    HttpOptions,
    RevisitPolicy,
    ServerOptions,
    SmtpOptions,
    SmtpSecurity,
    SourceSpec,
    Subscription,
    SubscriptionMode,
    WordPressSpec,
)

__all__ = [  # the config's models, for tests and tools that build configs by hand
    "SOURCE_TYPES",
    "Config",
    "FeedSourceConfig",
    "HtmlSourceConfig",
    "HttpOverrides",
    "HttpSettings",
    "ServerSettings",
    "Settings",
    "WordPressSourceConfig",
    "config_path",
    "load_config",
    "parse_config",
]

DEFAULT_CONFIG = Path("config/watcher.yaml")
CONFIG_ENV = "WATCHER_CONFIG"


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
        raise ConfigError(
            f"{path}:1: the config is empty: it needs at least `sources:` "
            "(config/watcher.yaml is an example)"
        )
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
    _check_subscriptions(settings, fail)
    _check_secrets(settings, fail)
    server = settings.server
    pages_url = str(server.base_url).rstrip("/") if server.base_url else None
    return Config(
        path=path,
        state_dir=state_dir,
        database_url=_absolute_sqlite(url, base),
        sources=tuple(_source_spec(source, settings.http) for source in settings.sources),
        topics={name: topic.to_topic(name) for name, topic in settings.topics.items()},
        subscriptions=tuple(_subscription(s) for s in settings.subscriptions),
        email=_email(settings.email),
        health=HealthOptions(
            unhealthy_after=settings.health.unhealthy_after, admin=tuple(settings.health.admin)
        ),
        server=ServerOptions(
            listen=server.listen,
            base_url=pages_url or f"http://{server.listen}",
            pages_url=pages_url,
        ),
        feeds=FeedOptions(title=settings.feeds.title, limit=settings.feeds.limit),
        log_level=settings.log_level,
        log_format=settings.log_format,
        lease_expiry=settings.lease_expiry,
        copies=Thresholds(**settings.copies.model_dump()),
    )


Fail = Callable[[tuple[Any, ...], str], ConfigError]


def _check_subscriptions(settings: Settings, fail: Fail) -> None:
    """What a subscription names exists: its topics, and the email it sends with."""
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
    if settings.health.admin and settings.email is None:
        raise fail(("health", "admin"), "mailing the admin needs an `email:` section (smtp, from)")


def _check_secrets(settings: Settings, fail: Fail) -> None:
    """Every secret the config names is in the environment (where it alone may be)."""
    needed: list[tuple[tuple[Any, ...], str]] = []
    for index, subscription in enumerate(settings.subscriptions):
        for number, variable in enumerate(subscription.notify_env):
            needed.append((("subscriptions", index, "notify_env", number), variable))
    for index, source in enumerate(settings.sources):
        if source.auth is not None:
            loc = ("sources", index, "http", "auth", "password_env")
            needed.append((loc, source.auth.password_env))
    smtp = settings.email.smtp if settings.email else None
    mails = any(s.to for s in settings.subscriptions) or bool(settings.health.admin)
    if smtp and smtp.password_env and mails:
        needed.append((("email", "smtp", "password_env"), smtp.password_env))
    for loc, variable in needed:
        if not os.environ.get(variable):
            raise fail(loc, f"environment variable {variable} is not set")


def _source_spec(source: SourceConfig, defaults: HttpSettings) -> SourceSpec:
    common: dict[str, Any] = {
        "name": source.name,
        "url": source.url,
        "every": source.every,
        "jitter": source.jitter,
        "enabled": source.enabled,
        "sweep_every": source.sweep_every,
        "check_deadline": source.check_deadline,
        "check_max_pages": source.check_max_pages,
        "follow_hosts": tuple(source.follow_hosts),
        "http": _http_options(source.http_settings(defaults)),
        "auth": Credentials(username=source.auth.username, password_env=source.auth.password_env)
        if source.auth
        else None,
        "selectors": source.page_selectors(),
        "max_pages": source.max_pages,
        "revisit": RevisitPolicy(**source.revisit.model_dump()),
        "copies": source.copies,
    }
    if isinstance(source, WordPressSourceConfig):
        return WordPressSpec(**common, categories=tuple(source.categories))
    if isinstance(source, FeedSourceConfig):
        return FeedSpec(**common, follow=source.follow)
    return HtmlSpec(**common)


def _http_options(settings: HttpSettings) -> HttpOptions:
    return HttpOptions(**settings.model_dump())


def http_options(**keys: Any) -> HttpOptions:
    """What an `http:` block with these keys resolves to, every other key at its default."""
    return _http_options(HttpSettings.model_validate(keys))


def _subscription(subscription: SubscriptionConfig) -> Subscription:
    return Subscription(
        name=subscription.name,
        to=tuple(subscription.to),
        topics=tuple(subscription.topics),
        mode=SubscriptionMode(subscription.mode),
        schedule=subscription.schedule,
        cron=cron_expression(subscription.schedule),
        timezone=subscription.timezone,
        send_empty=subscription.send_empty,
        notify_env=tuple(subscription.notify_env),
    )


def _email(email: EmailSettings | None) -> EmailOptions | None:
    if email is None:
        return None
    smtp = email.smtp
    return EmailOptions(
        sender=email.sender,
        smtp=SmtpOptions(
            host=smtp.host,
            port=smtp.port,
            security=SmtpSecurity(smtp.security),
            username=smtp.username,
            password_env=smtp.password_env,
            timeout=smtp.timeout,
        ),
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
        _refuse_tags(current, prefix, path, text)
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


def _refuse_tags(node: yaml.Node, prefix: tuple[Any, ...], path: Path, text: str) -> None:
    tag = _EXPLICIT_TAG.match(text, node.start_mark.index)
    if not tag:
        return
    where = f"{_dotted(prefix)}: " if prefix else ""
    hint = ""
    if "env" in tag.group(1).lower():
        hint = " (secrets come from the environment: database_env, password_env, notify_env)"
    raise ConfigError(
        f"{path}:{node.start_mark.line + 1}: {where}the YAML tag {tag.group(1)} is "
        f"not allowed: a config holds plain values only{hint}"
    )


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
    if kind in OWN_MESSAGES:
        return str(error["msg"])
    if kind == "string_pattern_mismatch":
        return f"{value!r} may use only a-z, 0-9, '-', '_' and '.', starting with a letter or digit"
    if kind == "literal_error":
        return f"{value!r} is not one of {error['ctx']['expected']}"
    return f"{error['msg'][0].lower()}{error['msg'][1:]} (got {value!r})"
