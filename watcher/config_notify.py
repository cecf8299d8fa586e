"""The config's topics, email and subscriptions: validated at load like the rest (see config.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from watcher.config_types import Duration, Name, Strict, Words
from watcher.topics import PRESETS, Topic, make_topic, validate_term

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAILY = re.compile(r"daily (\d{1,2}):(\d{2})")
_WEEKLY = re.compile(r"weekly (mon|tue|wed|thu|fri|sat|sun) (\d{1,2}):(\d{2})")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def cron_expression(schedule: str) -> str:
    """'daily 08:00' -> '0 8 * * *'; 'weekly mon 08:00' -> '0 8 * * mon'; a cron line as is.
    Raises ValueError."""
    text = " ".join(schedule.lower().split())
    if match := _DAILY.fullmatch(text):
        hour, minute = int(match.group(1)), int(match.group(2))
        expression = f"{minute} {hour} * * *"
    elif match := _WEEKLY.fullmatch(text):
        day, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
        expression = f"{minute} {hour} * * {day}"
    elif len(text.split()) == 5:
        *fields, weekdays = text.split()
        expression = " ".join([*fields, _weekday_names(weekdays)])
    else:
        raise ValueError(schedule)
    # only a config with subscriptions needs the scheduler to check its schedules
    from apscheduler.triggers.cron import CronTrigger  # noqa: PLC0415

    CronTrigger.from_crontab(expression)  # raises ValueError when a field is out of range
    return expression


def _weekday_names(field: str) -> str:
    """Cron counts Sunday as 0 (and 7), APScheduler counts Monday as 0: numbers become names
    ("1-5" -> "mon-fri"); a number after "/" is a step and stays."""
    names = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return re.sub(r"(?<![/\d])([0-7])(?!\d)", lambda m: names[int(m.group(1))], field)


def _schedule(value: Any) -> str:
    try:
        cron_expression(str(value))
    except ValueError:
        raise PydanticCustomError(
            "schedule",
            "{value} is not a schedule (use 'daily 08:00', 'weekly mon 08:00' or a cron line)",
            {"value": repr(value)},
        ) from None
    return str(value)


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "timezone",
            "{value} is not a time zone (use a name such as Asia/Jakarta or UTC)",
            {"value": repr(value)},
        ) from None
    return str(value)


def _term(value: Any) -> str:
    text = str(value)
    try:
        validate_term(text)
    except ValueError as exc:
        raise PydanticCustomError("term", "{reason}", {"reason": str(exc)}) from None
    return text


def _address(value: Any) -> str:
    text = str(value).strip()
    if not _ADDRESS.match(text):
        raise PydanticCustomError(
            "address", "{value} is not an email address", {"value": repr(value)}
        )
    return text


Term = Annotated[str, BeforeValidator(_term), Words("term", "terms")]
Address = Annotated[str, BeforeValidator(_address), Words("email address", "email addresses")]
EnvName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"),
    Words("environment variable name", "environment variable names"),
]
Schedule = Annotated[str, BeforeValidator(_schedule), Words("schedule", "schedules")]
TimeZone = Annotated[str, BeforeValidator(_timezone), Words("time zone", "time zones")]


class TopicConfig(Strict):
    title: str | None = Field(
        None,
        description="shown in feeds, mail and pages (unset: the preset's name, else the topic's)",
    )
    preset: str | None = Field(
        None,
        description="built-in terms, `partner/<slug>` or `member/<slug>` (`watcher topics "
        "presets` lists them)",
    )
    any: list[Term] = Field(
        [],
        description="terms, one of which must match (besides the preset's): words, phrases "
        "or `/regex/`; a topic needs a preset, `any` or `all`",
    )
    all: list[Term] = Field([], description="terms that must all match")
    none: list[Term] = Field(
        [], description="terms of which one matching keeps a release out of the topic"
    )
    fields: list[Literal["title", "body"]] = Field(
        ["title", "body"], alias="in", min_length=1, description="where to look"
    )

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS:
            raise PydanticCustomError(
                "preset",
                "{value} is not a preset (see `watcher topics presets`)",
                {"value": repr(value)},
            )
        return value

    def to_topic(self, name: str) -> Topic:
        return make_topic(
            name,
            title=self.title,
            preset=self.preset,
            any=self.any,
            all=self.all,
            none=self.none,
            fields=self.fields,
        )


class SmtpSettings(Strict):
    host: str = Field(description="the mail server")
    port: int = Field(587, ge=1, le=65535, description="its port")
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="how the connection is encrypted"
    )
    username: str | None = Field(None, description="the user name to log in with, if any")
    password_env: EnvName | None = Field(
        None,
        description="the environment variable holding the password (never in the file): a "
        "config error when it is not set and mail is sent",
    )
    timeout: Duration = Field(
        timedelta(seconds=30), description="the longest wait for the mail server"
    )


class EmailSettings(Strict):
    smtp: SmtpSettings = Field(description="the mail server that sends")
    sender: str = Field(alias="from", description="the sender, an address with or without a name")

    @field_validator("sender")
    @classmethod
    def _has_address(cls, value: str) -> str:
        address = value.rsplit("<", 1)[-1].rstrip(">").strip()
        _address(address)
        return value


class HealthSettings(Strict):
    unhealthy_after: Duration = Field(
        timedelta(hours=6),
        description="a source failing this long is reported in `/feeds/health.atom`, once",
    )
    admin: list[Address] = Field(
        [],
        description="mailed (once) when a source is unhealthy and when it recovers; needs `email`",
    )


class SubscriptionConfig(Strict):
    name: Name = Field(description="unique: the subscription's identity")
    to: list[Address] = Field([], description="who is mailed (needs `email`)")
    topics: list[str] = Field(min_length=1, description="the topics whose changes are sent")
    mode: Literal["digest", "instant"] = Field(
        "digest",
        description="`digest`: one message per period; `instant`: one per change, when found",
    )
    schedule: Schedule = Field(
        "daily 08:00",
        description="when a digest goes out: `daily 08:00`, `weekly mon 08:00` or a cron line",
    )
    timezone: TimeZone = Field("UTC", description="the time zone of `schedule`")
    send_empty: bool = Field(False, description="send a digest when the period had no change")
    notify_env: list[EnvName] = Field(
        [],
        description="environment variables holding apprise URLs (chat services; they carry "
        "tokens), sent the same summaries",
    )

    @property
    def cron(self) -> str:
        return cron_expression(self.schedule)
