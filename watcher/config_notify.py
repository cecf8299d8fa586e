"""The config's topics, email and subscriptions: validated at load like the rest (see config.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from watcher.config_types import Duration, Name, Strict
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


Term = Annotated[str, BeforeValidator(_term)]
Address = Annotated[str, BeforeValidator(_address)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class TopicConfig(Strict):
    title: str | None = None
    preset: str | None = None
    any: list[Term] = []
    all: list[Term] = []
    none: list[Term] = []
    fields: list[Literal["title", "body"]] = Field(["title", "body"], alias="in", min_length=1)

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
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: EnvName | None = None  # the password itself never sits in the file
    timeout: Duration = timedelta(seconds=30)


class EmailSettings(Strict):
    smtp: SmtpSettings
    sender: str = Field(alias="from")

    @field_validator("sender")
    @classmethod
    def _has_address(cls, value: str) -> str:
        address = value.rsplit("<", 1)[-1].rstrip(">").strip()
        _address(address)
        return value


class HealthSettings(Strict):
    unhealthy_after: Duration = timedelta(hours=6)  # failing this long: reported, once
    admin: list[Address] = []  # who is mailed when a source is unhealthy and when it recovers


class SubscriptionConfig(Strict):
    name: Name
    to: list[Address] = []
    topics: list[str] = Field(min_length=1)
    mode: Literal["digest", "instant"] = "digest"
    schedule: Annotated[str, BeforeValidator(_schedule)] = "daily 08:00"
    timezone: Annotated[str, BeforeValidator(_timezone)] = "UTC"
    send_empty: bool = False
    notify_env: list[EnvName] = []  # variables holding apprise URLs (they carry tokens)

    @property
    def cron(self) -> str:
        return cron_expression(self.schedule)
