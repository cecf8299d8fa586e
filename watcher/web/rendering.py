"""The templates (templates/, beside this module), autoescaped, with the filters pages share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("watcher.web", "templates"),
    autoescape=jinja2.select_autoescape(["html", "opml"]),
    undefined=jinja2.StrictUndefined,  # a misspelt name fails the page's test, not silently
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


_ENV.filters["when"] = _when


def render(name: str, **values: Any) -> str:
    return _ENV.get_template(name).render(**values)
