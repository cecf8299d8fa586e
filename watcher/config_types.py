"""Value types shared by the config's models: durations, sizes, URLs, CSS selectors, names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from cssselect import GenericTranslator, SelectorError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from watcher.units import (
    LONGEST_DURATION,
    DurationTooLong,
    format_duration,
    parse_duration,
    parse_size,
)
from watcher.urls import host_key


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value > LONGEST_DURATION:
            raise _too_long(value)
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return timedelta()
    try:
        return parse_duration(str(value))
    except DurationTooLong:
        raise _too_long(value) from None
    except ValueError:
        raise PydanticCustomError(
            "duration", "{value} is not a duration (use 15m, 1h, 1d)", {"value": repr(value)}
        ) from None


def _too_long(value: Any) -> PydanticCustomError:
    return PydanticCustomError(
        "duration",
        "{value} is longer than {longest}",
        {"value": repr(value), "longest": format_duration(LONGEST_DURATION)},
    )


def _size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return parse_size(str(value))
    except ValueError:
        raise PydanticCustomError(
            "size", "{value} is not a size (use 512KB, 20MB, 1GB)", {"value": repr(value)}
        ) from None


def _http_url(value: Any) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.username is not None or parts.password is not None:
        # a source's URL is shown in logs, `config check`, and every release link of the feeds
        shown = parts._replace(netloc=f"***@{parts.netloc.rpartition('@')[2]}").geturl()
        raise PydanticCustomError(
            "url",
            "{value} has a user name or password in it, which would be shown in logs and feeds "
            "(use the source's http.auth, with username and password_env)",
            {"value": repr(shown)},
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError(
            "url", "{value} is not an http(s) URL", {"value": repr(value)}
        ) from None
    return text


def _host(value: Any) -> str:
    """A host name, with a port where it is not the default: `example.org`, `127.0.0.1:8080`."""
    text = str(value).strip().lower()
    parts = urlsplit(f"//{text}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1 or "/" in text or "@" in text or "?" in text:
        raise PydanticCustomError(
            "host",
            "{value} is not a host name (write it without scheme or path: example.org)",
            {"value": repr(value)},
        )
    return host_key(f"//{text}")


def _css(value: Any) -> str:
    text = str(value)
    try:
        GenericTranslator().css_to_xpath(text)
    except SelectorError as exc:
        reason = str(exc).splitlines()[0]
        raise PydanticCustomError(
            "css",
            "{value} is not a CSS selector ({reason})",
            {"value": repr(value), "reason": reason},
        ) from None
    return text


@dataclass(frozen=True)
class Words:
    """What a value type is called in the configuration reference (config_reference.py), in
    the singular and the plural; pydantic leaves this metadata alone."""

    one: str
    many: str


Duration = Annotated[timedelta, BeforeValidator(_duration), Words("duration", "durations")]
Size = Annotated[int, BeforeValidator(_size), Words("size", "sizes")]
HttpUrl = Annotated[str, BeforeValidator(_http_url), Words("http(s) URL", "http(s) URLs")]
Host = Annotated[str, BeforeValidator(_host), Words("host", "hosts")]
Css = Annotated[str, BeforeValidator(_css), Words("CSS selector", "CSS selectors")]
Share = Annotated[float, Field(ge=0.0, le=1.0), Words("number from 0 to 1", "numbers from 0 to 1")]
Name = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64), Words("name", "names")
]


class Strict(BaseModel):
    """Unknown keys are errors; values never change after load."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
