"""watcher: follows what news sites publish, and what they silently change."""

__version__ = "0.1.0"
