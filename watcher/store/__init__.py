"""Storage: the only package that speaks SQL."""

from watcher.store.store import Store

__all__ = ["Store"]
