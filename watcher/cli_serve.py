"""`watcher serve`: the web pages, feeds and metrics of a database, alone: no checks, no mail,
no lock."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

import click

from watcher.cli_common import Context, fail, pass_context
from watcher.errors import StoreError

log = logging.getLogger("watcher.serve")


@click.command()
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Where to listen (default: `server.listen` of the config, 127.0.0.1:8080).",
)
@pass_context
def serve(context: Context, listen: str | None) -> None:
    """Serve the pages and feeds of the database, read-only, beside a daemon or without one."""
    from watcher.app import App
    from watcher.cli import _logging
    from watcher.store import Store
    from watcher.web.app import Site
    from watcher.web.server import WebServer

    _logging(context)
    config = context.config
    try:
        store = Store.open_existing(config.database_url)  # never created nor migrated here
    except StoreError as exc:
        fail(str(exc), 1)
    app = App(config, store=store)
    app.mails = False
    address = listen or config.server.listen

    def healthy() -> tuple[bool, str]:
        """Read-only, with no scheduler: ready while the database answers."""
        why = store.ping()
        return (True, "") if why is None else (False, f"database: {why}")

    site = Site(
        config.feeds_dir,
        healthy,
        topics=config.topics,
        base_url=config.base_url,
        refresh=app.refresh_feeds,  # the feed files, written from the database when it moved
        reader=store,
        title=config.feeds.title,
        sources=config.sources,
        metrics=app.metrics.exposition,  # the database's numbers; it checks nothing itself
    )
    try:
        web = WebServer(address, site)
    except OSError as exc:
        app.close()
        fail(f"cannot listen on {address}: {exc.strerror}", 1)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    web.start()
    log.info("serving %s read-only on http://%s/", _where(config.database_url), address)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        web.stop()
        app.close()
    sys.exit(0)


def _where(url: str) -> str:
    from watcher.store.store import safe_url

    return safe_url(url)
