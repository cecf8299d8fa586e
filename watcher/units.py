"""Durations and sizes as people write them in YAML: 15m, 1h30m, 0s; 20MB, 512KiB."""

from __future__ import annotations

import re
from datetime import timedelta

# A year covers every interval, timeout and grace period the watcher has a use for, and keeps
# `now + duration` (and the check backoff, a multiple of `every`) far inside what datetime holds.
LONGEST_DURATION = timedelta(days=365)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_DURATION_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


class DurationTooLong(ValueError):
    """A well-formed duration longer than LONGEST_DURATION; the message is the input itself."""


def parse_duration(text: str) -> timedelta:
    """'1h30m' -> 90 minutes. Raises ValueError for anything else, DurationTooLong past 365d."""
    compact = text.strip().replace(" ", "")
    if not compact or not _DURATION_PART.sub("", compact) == "":
        raise ValueError(text)
    # Bounded in float seconds before any timedelta is built: '9999999999d' overflows timedelta
    # and a 400-digit number is float infinity, neither of which is a ValueError there.
    seconds = sum(
        float(number) * _DURATION_UNITS[unit].total_seconds()
        for number, unit in _DURATION_PART.findall(compact)
    )
    if not seconds <= LONGEST_DURATION.total_seconds():
        raise DurationTooLong(text)
    total = timedelta()
    for number, unit in _DURATION_PART.findall(compact):
        total += float(number) * _DURATION_UNITS[unit]
    return total


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def parse_size(text: str) -> int:
    """'20MB' -> 20_000_000 bytes. Raises ValueError for anything else."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(text)
    number, unit = match.groups()
    return int(float(number) * _SIZE_UNITS[(unit or "b").lower()])
