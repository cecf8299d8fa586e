"""The configuration reference: every key of the config's models (config_models.py,
config_notify.py) as one Markdown table, with its type in words, its default and its
description. The README holds it between two marker comments, and a test compares the two.

    python -m watcher.config_reference             # print the table
    python -m watcher.config_reference README.md   # write it between the file's markers
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Le, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from watcher import __version__
from watcher.config_models import Settings
from watcher.config_types import Words
from watcher.units import format_duration

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"
HEADER = "| key | type | default | meaning |\n| --- | --- | --- | --- |\n"


@dataclass(frozen=True)
class Key:
    """One row of the reference."""

    path: str  # `server.listen`, `sources[].revisit.fresh`, `topics.<name>.any`
    kinds: tuple[str, ...]  # the source types it applies to; () where it is not a source's own
    type: str  # in words: "duration", "integer, 1 to 16", "`digest` or `instant`"
    default: str  # "`15m`", "required", "unset"
    description: str


class UndescribedKey(ValueError):
    """A field of the config's models without `Field(description=...)`."""


def keys(model: type[BaseModel] = Settings) -> list[Key]:
    """Every key of the config, in the models' order (required keys first in each section)."""
    return list(_walk(model, ""))


def reference(model: type[BaseModel] = Settings) -> str:
    """The reference as a Markdown table."""
    return HEADER + "".join(_row(key) for key in keys(model))


def with_reference(text: str, table: str) -> str:
    """`text` (the README) with `table` between its markers."""
    before, start, rest = text.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the markers {START} and {END} are not both there")
    return f"{before}{START}\n{table}{END}{after}"


def between_markers(text: str) -> str:
    """What `text` holds between the markers (the table, when it is up to date)."""
    _, start, rest = text.partition(START)
    inside, end, _ = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the markers {START} and {END} are not both there")
    return inside.removeprefix("\n")


def _row(key: Key) -> str:
    where = f" ({', '.join(key.kinds)})" if key.kinds else ""
    cells = (f"`{key.path}`{where}", key.type, key.default, key.description)
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |\n"


def _walk(model: type[BaseModel], prefix: str) -> Iterator[Key]:
    fields = sorted(model.model_fields.items(), key=lambda item: not item[1].is_required())
    for name, field in fields:
        yield from _field(f"{prefix}{field.alias or name}", field)


def _field(path: str, field: FieldInfo) -> Iterator[Key]:
    if not field.description:
        raise UndescribedKey(f"{path} has no description")
    words = _words(field.annotation, field.metadata)
    yield Key(path, (), words, _default(field, words), field.description)
    inner = _bare(field.annotation)
    origin = get_origin(inner)
    if origin is list:
        [item] = get_args(inner)
        yield from _children(item, f"{path}[].")
    elif origin is dict:
        _, value = get_args(inner)
        yield from _children(value, f"{path}.<name>.")
    else:
        yield from _children(inner, f"{path}.")


def _children(annotation: Any, prefix: str) -> Iterator[Key]:
    """The keys inside a section, or inside each model of a discriminated union of them (the
    sources: a key is marked with the types it belongs to, unless it belongs to all alike)."""
    annotation = _bare(annotation)
    if _is_model(annotation):
        yield from _walk(annotation, prefix)
        return
    models = [arg for arg in get_args(annotation) if _is_model(arg)]
    if not models:
        return
    found: dict[str, list[tuple[str, Key]]] = {}
    discriminators: list[str] = []
    for model in models:
        tag, kind = _tag(model)
        discriminators.append(kind)
        for key in _walk(model, prefix):
            found.setdefault(key.path, []).append((kind, key))
    for path, rows in found.items():
        if path == f"{prefix}{tag}":
            first = rows[0][1]
            yield Key(path, (), _alternatives(discriminators), first.default, first.description)
            continue
        alike: dict[tuple[str, str, str], list[str]] = {}
        for kind, key in rows:
            alike.setdefault((key.type, key.default, key.description), []).append(kind)
        for (words, default, description), kinds in alike.items():
            every = kinds == discriminators
            yield Key(path, () if every else tuple(kinds), words, default, description)


def _tag(model: type[BaseModel]) -> tuple[str, str]:
    """The field that tells the models of a union apart, and this model's value of it."""
    for name, field in model.model_fields.items():
        if get_origin(field.annotation) is Literal and len(get_args(field.annotation)) == 1:
            return name, str(get_args(field.annotation)[0])
    raise TypeError(f"{model.__name__} has no Literal field to tell it apart")


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _bare(annotation: Any) -> Any:
    """The type without `Annotated` and without `| None`."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif _is_union(annotation) and type(None) in get_args(annotation):
            rest = [arg for arg in get_args(annotation) if arg is not type(None)]
            annotation = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _words(annotation: Any, metadata: Sequence[Any] = (), *, many: bool = False) -> str:
    """A type in words: `Duration` is "duration", `list[Css]` "list of CSS selectors"."""
    if get_origin(annotation) is Annotated:
        inner, *more = get_args(annotation)
        return _words(inner, [*metadata, *_flat(more)], many=many)
    for item in metadata:
        if isinstance(item, Words):
            return item.many if many else item.one
    if _is_union(annotation):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return _words(rest[0], metadata, many=many)
        return "sections" if many else "section"  # the models of a discriminated union
    origin = get_origin(annotation)
    if origin is Literal:
        return _alternatives([str(arg) for arg in get_args(annotation)])
    if origin is list:
        [item] = get_args(annotation)
        return f"list of {_words(item, many=True)}" + _bounds(metadata, "at least one")
    if origin is dict:
        key, value = get_args(annotation)
        return f"mapping of {_words(key, many=True)} to {_words(value, many=True)}"
    return _plain_words(annotation, metadata, many=many)


def _plain_words(annotation: Any, metadata: Sequence[Any], *, many: bool) -> str:
    if _is_model(annotation):
        return "sections" if many else "section"
    if annotation is bool:
        return "`true` or `false`"
    if annotation is int:
        return ("integers" if many else "integer") + _bounds(metadata)
    if annotation is str:
        return "texts" if many else "text"
    raise TypeError(f"no words for {annotation!r}: give it `Words(...)` in config_types.py")


def _flat(metadata: Iterable[Any]) -> Iterator[Any]:
    """`Annotated` metadata, with that of a `Field(...)` inside it."""
    for item in metadata:
        yield from item.metadata if isinstance(item, FieldInfo) else (item,)


def _bounds(metadata: Sequence[Any], one: str = "") -> str:
    low = next((item.ge for item in metadata if isinstance(item, Ge)), None)
    high = next((item.le for item in metadata if isinstance(item, Le)), None)
    if any(isinstance(item, MinLen) and item.min_length == 1 for item in metadata) and one:
        return f", {one}"
    if low is not None and high is not None:
        return f", {low} to {high}"
    if low is not None:
        return f", at least {low}"
    return ""


def _alternatives(values: Sequence[str]) -> str:
    quoted = [f"`{value}`" for value in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _default(field: FieldInfo, words: str) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return ""  # a section: its keys have their defaults
    return f"`{_value(value, words)}`"


def _value(value: Any, words: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, int) and words == "size":
        return _size(value)
    if isinstance(value, list):
        return f"[{', '.join(_value(item, words) for item in value)}]"
    if isinstance(value, dict):
        return "{}" if not value else repr(value)
    # the default User-Agent names the version, which the README need not follow
    return str(value).replace(__version__, "<version>")


def _size(value: int) -> str:
    for unit, size in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if value >= size and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}B"


def main(argv: Sequence[str]) -> int:
    table = reference()
    if not argv:
        sys.stdout.write(table)
        return 0
    path = Path(argv[0])
    text = path.read_text(encoding="utf-8")
    updated = with_reference(text, table)
    if updated != text:
        path.write_text(updated, encoding="utf-8")
        print(f"{path}: configuration reference rewritten")
    else:
        print(f"{path}: configuration reference up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
