"""`watcher export`: the releases with their versions and changes, as JSON, JSON Lines or CSV,
read from the database and written one release at a time (read-only)."""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from watcher.cli_common import Context, Reader, fail, look, pass_context

if TYPE_CHECKING:
    from watcher.export import Written

FORMATS = ("json", "jsonl", "csv")  # watcher.export.WRITERS, named here to keep --help quick


@click.command()
@click.option(
    "--format",
    "format_name",
    type=click.Choice(FORMATS),
    default="json",
    show_default=True,
    help="json: one array, written a release at a time; jsonl: a release per line; csv: a row "
    "per version, for spreadsheets.",
)
@click.option("--source", metavar="NAME", help="Only this source's releases.")
@click.option("--topic", metavar="NAME", help="Only the releases in this topic.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Only the releases with a change detected on that day (UTC) or later, with their "
    "whole history.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write to FILE (in place once whole) instead of the standard output.",
)
@pass_context
def export(
    context: Context,
    format_name: str,
    source: str | None,
    topic: str | None,
    since: datetime | None,
    output: Path | None,
) -> None:
    """Write the releases with every version and change, for analysis elsewhere."""
    import sqlalchemy as sa

    from watcher.export import WRITERS
    from watcher.models import ExportFilter
    from watcher.store.store import first_line

    if topic is not None and topic not in context.config.topics:
        known = ", ".join(context.config.topics) or "none configured"
        fail(f"{context.path}: no topic named {topic!r} (topics: {known})", 2)
    wanted = ExportFilter(source, topic, since.replace(tzinfo=UTC) if since else None)

    def write(reader: Reader) -> Written:
        from watcher.cli import _warn_of_topics_changed

        configured = [s.name for s in context.config.sources]
        if source is not None and source not in {*configured, *reader.store.stored_sources()}:
            # a source since removed from the config still has its releases; a typo has none
            known = ", ".join(configured) or "none configured"
            fail(f"{context.path}: no source named {source!r} (sources: {known})", 2)
        _warn_of_topics_changed(reader)
        releases = reader.store.exported_releases(wanted)
        try:
            with _destination(output) as out:
                return WRITERS[format_name](releases, out)
        finally:
            releases.close()

    try:
        written = look(context, write)
    except BrokenPipeError:
        sys.exit(1)  # the reader stopped reading (`| head`): nothing more to say
    except OSError as exc:
        where = output if output is not None else "the standard output"
        fail(f"export: cannot write {where}: {exc.strerror}", 1)
    except sa.exc.SQLAlchemyError as exc:
        fail(f"export: reading the database failed: {first_line(exc)}", 1)
    if output is not None:
        click.echo(
            f"exported {written.releases} release(s), {written.versions} version(s) and "
            f"{written.changes} change(s) to {output}"
        )


@contextmanager
def _destination(path: Path | None) -> Iterator[TextIO]:
    """UTF-8 whatever the locale, newlines as written. A file appears only once whole: it is
    written beside its place and moved there, so a failed export leaves none half-written."""
    if path is None:
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            yield stream
            stream.flush()
        except BrokenPipeError:
            # what is still buffered goes nowhere, rather than fail again at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise
        finally:
            stream.detach()
        return
    if path.exists() and not path.is_file():  # a device or a pipe (/dev/stdout, a FIFO)
        with path.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        return
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with open(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(name, 0o666 & ~umask)  # as any file the user writes, not mkstemp's 0600
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
