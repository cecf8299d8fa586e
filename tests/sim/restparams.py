"""The REST API's query parameters as WordPress reads and checks them: array parameters,
integers, dates, enums, and the error each bad value gives."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class _Problem:
    code: str
    message: str
    data: Any = None


@dataclass
class Args:
    """A request's query as WordPress reads it: `name[]=a&name[1]=b` and `name=a,b` are lists
    for array parameters, the last value wins for the others; the order is kept for links."""

    values: dict[str, str | list[str]]
    order: list[str]

    @classmethod
    def parse(cls, pairs: list[tuple[str, str]]) -> Args:
        values: dict[str, str | list[str]] = {}
        order: list[str] = []
        for key, value in pairs:
            match = re.fullmatch(r"([^\[\]]+)\[[^\]]*\]", key)
            name = match.group(1) if match else key
            if name not in order:
                order.append(name)
            if match:
                previous = values.get(name)
                values[name] = [*(previous if isinstance(previous, list) else []), value]
            else:
                values[name] = value
        return cls(values, order)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def items(self, name: str) -> list[str]:
        value = self.values.get(name)
        if isinstance(value, list):
            return value
        return [v for v in re.split(r"[\s,]+", value or "") if v]


def integer(value: str) -> int | None:
    # rest_is_integer: numeric without a fractional part ("2", " 3", "2.0").
    match = re.fullmatch(r"\s*([+-]?\d+)(?:\.0*)?\s*", value)
    return int(match.group(1)) if match else None


_REST_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}(?::\d{2})?)?"
)


def rest_date(value: str, tz: ZoneInfo) -> datetime | None:
    """rest_parse_date: ISO 8601 with a time; without an offset it is the site's local time."""
    match = _REST_DATE.fullmatch(value)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        return None
    # strtotime rolls 30 February over into March rather than refusing it.
    naive = datetime.combine(date(year, month, 1), datetime.min.time()) + timedelta(
        days=day - 1, hours=hour, minutes=minute, seconds=second
    )
    offset = match.group(7)
    if not offset:
        return naive.replace(tzinfo=tz).astimezone(UTC)
    if offset == "Z":
        return naive.replace(tzinfo=UTC)
    sign = 1 if offset[0] == "+" else -1
    delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6] or 0))
    return (naive - sign * delta).replace(tzinfo=UTC)


def _check_integer(name: str, value: str, low: int | None, high: int | None) -> _Problem | None:
    number = integer(value)
    if number is None:
        return _Problem("rest_invalid_type", f"{name} is not of type integer.", {"param": name})
    if high is not None and low is not None and not low <= number <= high:
        message = f"{name} must be between {low} (inclusive) and {high} (inclusive)"
        return _Problem("rest_out_of_bounds", message)
    if low is not None and number < low:
        return _Problem("rest_out_of_bounds", f"{name} must be greater than or equal to {low}")
    return None


def _check_ids(name: str, values: list[str], terms: bool) -> _Problem | None:
    for position, value in enumerate(values):
        if integer(value) is None:
            reason = f"{name}[{position}] is not of type integer."
            if terms:
                message = f"{name} is not a valid Term ID List. Reason: {reason}"
                return _Problem("rest_no_matching_schema", message, {"position": position})
            return _Problem("rest_invalid_type", reason, {"param": f"{name}[{position}]"})
    return None


def _check_enum(name: str, value: str, allowed: Sequence[str]) -> _Problem | None:
    if value in allowed:
        return None
    listed = f"{', '.join(allowed[:-1])}, and {allowed[-1]}" if len(allowed) > 2 else None
    listed = listed or " and ".join(allowed)
    return _Problem("rest_not_in_enum", f"{name} is not one of {listed}.")


Check = Callable[[Args], _Problem | None]

POST_ORDERBY = (
    "author",
    "date",
    "id",
    "include",
    "modified",
    "parent",
    "relevance",
    "slug",
    "include_slugs",
    "title",
)
TERM_ORDERBY = (
    "id",
    "include",
    "name",
    "slug",
    "include_slugs",
    "term_group",
    "description",
    "count",
)
# Array parameters, which links repeat as name[0]=...: per route, as the schema types them.
POST_ARRAYS = {"author", "author_exclude", "categories", "categories_exclude", "exclude"}
POST_ARRAYS |= {"include", "slug", "status", "tags", "tags_exclude"}
TERM_ARRAYS = {"exclude", "include", "slug"}
INTEGERS = {"per_page", "offset", "parent", "post"}


def _date_check(name: str) -> Check:
    def check(args: Args) -> _Problem | None:
        value = args.text(name)
        if value is None or rest_date(value, ZoneInfo("UTC")) is not None:
            return None
        return _Problem("rest_invalid_date", "Invalid date.")

    return check


def _int_check(name: str, low: int | None = None, high: int | None = None) -> Check:
    def check(args: Args) -> _Problem | None:
        value = args.text(name)
        return None if value is None else _check_integer(name, value, low, high)

    return check


def _ids_check(name: str, *, terms: bool = False) -> Check:
    def check(args: Args) -> _Problem | None:
        return _check_ids(name, args.items(name), terms) if name in args.values else None

    return check


def _enum_check(name: str, allowed: Sequence[str]) -> Check:
    def check(args: Args) -> _Problem | None:
        value = args.text(name)
        return None if value is None else _check_enum(name, value, allowed)

    return check


def _status_check(args: Args) -> _Problem | None:
    if all(status == "publish" for status in args.items("status")):
        return None
    return _Problem("rest_forbidden_status", "Status is forbidden.", {"status": 401})


def _bool_check(name: str) -> Check:
    def check(args: Args) -> _Problem | None:
        value = args.text(name)
        if value is None or value.lower() in ("", "0", "1", "false", "true"):
            return None
        return _Problem("rest_invalid_type", f"{name} is not of type boolean.", {"param": name})

    return check


POST_CHECKS: dict[str, Check] = {
    "page": _int_check("page", 1),
    "per_page": _int_check("per_page", 1, 100),
    "after": _date_check("after"),
    "modified_after": _date_check("modified_after"),
    "author": _ids_check("author"),
    "before": _date_check("before"),
    "modified_before": _date_check("modified_before"),
    "exclude": _ids_check("exclude"),
    "include": _ids_check("include"),
    "offset": _int_check("offset"),
    "order": _enum_check("order", ("asc", "desc")),
    "orderby": _enum_check("orderby", POST_ORDERBY),
    "status": _status_check,
    "categories": _ids_check("categories", terms=True),
    "categories_exclude": _ids_check("categories_exclude", terms=True),
    "tags": _ids_check("tags", terms=True),
}
TERM_CHECKS: dict[str, Check] = {
    "page": _int_check("page", 1),
    "per_page": _int_check("per_page", 1, 100),
    "exclude": _ids_check("exclude"),
    "include": _ids_check("include"),
    "order": _enum_check("order", ("asc", "desc")),
    "orderby": _enum_check("orderby", TERM_ORDERBY),
    "hide_empty": _bool_check("hide_empty"),
    "parent": _int_check("parent"),
    "post": _int_check("post"),
}
