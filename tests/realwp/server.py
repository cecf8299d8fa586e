"""A real WordPress (Debian's `wordpress` package) on 127.0.0.1, for the contract tests.

Everything lives in one temporary directory: a MariaDB data directory served on a unix socket
only (no TCP port), a hard-linked copy of the WordPress tree with its own wp-config.php
(Debian's reads /etc/wordpress, which a test must not touch), and PHP's built-in web server with
a router that does what WordPress's .htaccess rules do. Changes are made by small PHP scripts
(php/ctl.php) that load WordPress from the command line and call the functions wp-admin would
call. A must-use plugin (php/offline.php) and wp-config.php keep WordPress off the network.

    with RealWordPress() as site:
        post_id = site.add_post("Title", "Body")
        httpx.get(f"{site.url}/wp-json/wp/v2/posts/{post_id}")
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from tests.helpers import free_port
from tests.wpsite import CATEGORIES, SITE_NAME, SITE_TIMEZONE

from .mariadb import MariaDB
from .processes import START_TIMEOUT, RealWordPressError, tail, terminate

WORDPRESS_DIR = Path("/usr/share/wordpress")
THEME = "twentytwentyone"
PERMALINK_STRUCTURE = "/%postname%/"
PHP_DIR = Path(__file__).parent / "php"

# Debian package that brings each program or file the site needs, for the skip message.
REQUIREMENTS: dict[str, str] = {
    "php": "php-cli",
    "mariadbd": "mariadb-server",
    "mariadb-install-db": "mariadb-server",
    "mariadb-admin": "mariadb-client",
    str(WORDPRESS_DIR / "wp-load.php"): "wordpress",
    str(WORDPRESS_DIR / "wp-content" / "themes" / THEME / "style.css"): (
        f"wordpress-theme-{THEME}"
    ),
}

DB_NAME = DB_USER = DB_PASSWORD = "wordpress"

# unix socket paths are limited to 108 bytes; a deep TMPDIR would overflow it.
_MAX_SOCKET_PATH = 100


def missing_requirements() -> list[str]:
    """The Debian packages still to install, one per missing program or file (empty if none)."""
    missing: list[str] = []
    for need, package in REQUIREMENTS.items():
        found = Path(need).exists() if need.startswith("/") else shutil.which(need) is not None
        if not found and package not in missing:
            missing.append(package)
    if "php-cli" not in missing and not _php_has_mysqli():
        missing.append("php-mysql")
    return missing


def _php_has_mysqli() -> bool:
    result = subprocess.run(
        ["php", "-r", "echo extension_loaded('mysqli') ? 'yes' : 'no';"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() == "yes"


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _link_or_copy(source: str, target: str) -> None:
    # A hard link copies the tree in a fraction of the time (3,000 files) and keeps __FILE__
    # inside it. Nothing writes to WordPress's own files: DISALLOW_FILE_MODS, no admin.
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or protected_hardlinks for a user who isn't root
        shutil.copy2(source, target)


def _mysql_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} is naive: pass an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class RealWordPress:
    """A freshly installed WordPress site on 127.0.0.1; start and stop it with `with`.

    The site is named SITE_NAME, runs in SITE_TIMEZONE, has /%postname%/ permalinks, the
    twentytwentyone theme, the CATEGORIES and no posts.
    """

    url: str

    def __init__(self, wordpress_dir: Path = WORDPRESS_DIR) -> None:
        self.wordpress_dir = wordpress_dir
        self.url = ""
        self._base: Path | None = None
        self._database: MariaDB | None = None
        self._php: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        began = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def _start(self) -> None:
        base = Path(tempfile.mkdtemp(prefix="realwp-"))
        if len(str(base / "mysql.sock")) > _MAX_SOCKET_PATH:
            shutil.rmtree(base)
            base = Path(tempfile.mkdtemp(prefix="realwp-", dir="/tmp"))
        self._base = base
        self._database = MariaDB(base)
        # The database bootstrap and the tree copy are independent: overlap them.
        self._database.begin_install()
        self._copy_tree()
        self._database.start()
        self._database.create_database(DB_NAME, DB_USER, DB_PASSWORD)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._write_config()
        self._run_ctl(
            "install",
            {
                "name": SITE_NAME,
                "password": secrets.token_urlsafe(16),
                "timezone": SITE_TIMEZONE,
                "categories": CATEGORIES,
                "permalink_structure": PERMALINK_STRUCTURE,
            },
        )
        self._run_ctl("flush_rewrite_rules", {})
        self._start_php(port)

    def stop(self) -> None:
        """Stop the web server and the database and remove the directory; safe to call twice."""
        if self._php is not None:
            terminate(self._php)
            self._php = None
        if self._database is not None:
            self._database.stop()
            self._database = None
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    # -- start-up steps ---------------------------------------------------------------------

    @property
    def _dir(self) -> Path:
        if self._base is None:
            raise RealWordPressError("the site is not running")
        return self._base

    @property
    def _root(self) -> Path:
        return self._dir / "wordpress"

    def _copy_tree(self) -> None:
        # Not symlinks: PHP resolves them in __FILE__, and WordPress then finds the wp-config.php
        # next to the real wp-load.php, Debian's.
        shutil.copytree(
            self.wordpress_dir,
            self._root,
            symlinks=True,
            ignore=shutil.ignore_patterns("wp-config.php", ".htaccess"),
            copy_function=_link_or_copy,
        )
        (self._dir / "opcache").mkdir()
        mu_plugins = self._root / "wp-content" / "mu-plugins"
        mu_plugins.mkdir(parents=True, exist_ok=True)
        plugin = mu_plugins / "offline.php"
        # Never write through a hard link into the package's files.
        plugin.unlink(missing_ok=True)
        shutil.copyfile(PHP_DIR / "offline.php", plugin)
        (self._root / "wp-content" / "uploads").mkdir(exist_ok=True)

    def _write_config(self) -> None:
        constants: dict[str, str | bool] = {
            "DB_NAME": DB_NAME,
            "DB_USER": DB_USER,
            "DB_PASSWORD": DB_PASSWORD,
            "DB_HOST": f"localhost:{self._dir / 'mysql.sock'}",
            "DB_CHARSET": "utf8mb4",
            "DB_COLLATE": "",
            "WP_HOME": self.url,
            "WP_SITEURL": self.url,
            "WP_DEFAULT_THEME": THEME,
            "WP_DEBUG": False,
            # Never reach outside 127.0.0.1: no HTTP to other hosts, no cron (which would
            # ping, check for updates and fetch enclosures), no updates of any kind.
            "WP_HTTP_BLOCK_EXTERNAL": True,
            "DISABLE_WP_CRON": True,
            "AUTOMATIC_UPDATER_DISABLED": True,
            "WP_AUTO_UPDATE_CORE": False,
            "DISALLOW_FILE_MODS": True,
        }
        for key in (
            "AUTH_KEY",
            "SECURE_AUTH_KEY",
            "LOGGED_IN_KEY",
            "NONCE_KEY",
            "AUTH_SALT",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT",
            "NONCE_SALT",
        ):
            constants[key] = secrets.token_hex(32)
        lines = ["<?php"]
        for name, value in constants.items():
            if isinstance(value, bool):
                php_value = "true" if value else "false"
            else:
                php_value = _php_string(value)
            lines.append(f"define({_php_string(name)}, {php_value});")
        lines += [
            "$table_prefix = 'wp_';",
            "if (!defined('ABSPATH')) {",
            "    define('ABSPATH', __DIR__ . '/');",
            "}",
            "require_once ABSPATH . 'wp-settings.php';",
            "",
        ]
        (self._root / "wp-config.php").write_text("\n".join(lines))

    def _start_php(self, port: int) -> None:
        # A single process: with PHP_CLI_SERVER_WORKERS, stopping the server leaves its
        # workers behind, still serving. Requests are handled one at a time.
        env = {
            name: value for name, value in os.environ.items() if name != "PHP_CLI_SERVER_WORKERS"
        }
        with open(self._dir / "php-server.log", "wb") as log:
            self._php = subprocess.Popen(
                [
                    "php",
                    "-d",
                    "display_errors=0",
                    "-d",
                    "log_errors=1",
                    "-d",
                    f"error_log={self._dir / 'php-errors.log'}",
                    "-S",
                    f"127.0.0.1:{port}",
                    "-t",
                    str(self._root),
                    str(PHP_DIR / "router.php"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                cwd=self._root,
            )
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=5) as client:
            while True:
                if self._php.poll() is not None:
                    raise RealWordPressError(
                        f"php -S exited ({self._php.returncode}):\n"
                        f"{tail(self._dir / 'php-server.log')}"
                    )
                try:
                    response = client.get(f"{self.url}/wp-json/")
                except httpx.TransportError:
                    response = None
                if response is not None:
                    if response.status_code == 200:
                        return
                    raise RealWordPressError(
                        f"the site answered {response.status_code} on /wp-json/:\n"
                        f"{response.text[:2000]}\n{tail(self._dir / 'php-errors.log')}"
                    )
                if time.monotonic() > deadline:
                    raise RealWordPressError(
                        f"php -S did not answer within {START_TIMEOUT:.0f} s:\n"
                        f"{tail(self._dir / 'php-server.log')}"
                    )
                time.sleep(0.05)

    # -- changes ----------------------------------------------------------------------------

    def _run_ctl(self, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = subprocess.run(
            [
                "php",
                "-d",
                "display_errors=stderr",
                # Each change is a new PHP process: caching the compiled WordPress halves its time.
                "-d",
                "opcache.enable_cli=1",
                "-d",
                f"opcache.file_cache={self._dir / 'opcache'}",
                str(PHP_DIR / "ctl.php"),
                operation,
            ],
            input=json.dumps({"url": self.url, **arguments}),
            capture_output=True,
            text=True,
            env={**os.environ, "REALWP_ROOT": str(self._root)},
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RealWordPressError(
                f"{operation} failed ({result.returncode}):\n{result.stderr}{result.stdout}"
            )
        lines = result.stdout.strip().splitlines()
        if not lines:
            raise RealWordPressError(f"{operation} printed nothing:\n{result.stderr}")
        answer: dict[str, Any] = json.loads(lines[-1])
        return answer

    def add_post(
        self,
        title: str,
        content: str,
        *,
        categories: Sequence[str] = ("news",),
        date_gmt: datetime | None = None,
        slug: str | None = None,
    ) -> int:
        """Publish a post as an editor would; returns its id."""
        arguments: dict[str, Any] = {
            "title": title,
            "content": content,
            "categories": list(categories),
        }
        if date_gmt is not None:
            arguments["date_gmt"] = _mysql_datetime(date_gmt)
        if slug is not None:
            arguments["slug"] = slug
        post_id: int = self._run_ctl("add_post", arguments)["id"]
        return post_id

    def edit_post(
        self, post_id: int, *, title: str | None = None, content: str | None = None
    ) -> None:
        arguments: dict[str, Any] = {"id": post_id}
        if title is not None:
            arguments["title"] = title
        if content is not None:
            arguments["content"] = content
        self._run_ctl("edit_post", arguments)

    def set_modified(self, post_id: int, modified_gmt: datetime) -> None:
        self._run_ctl(
            "set_modified", {"id": post_id, "modified_gmt": _mysql_datetime(modified_gmt)}
        )

    def change_slug(self, post_id: int, slug: str) -> None:
        self._run_ctl("change_slug", {"id": post_id, "slug": slug})

    def trash_post(self, post_id: int) -> None:
        self._run_ctl("trash_post", {"id": post_id})

    def untrash_post(self, post_id: int) -> None:
        self._run_ctl("untrash_post", {"id": post_id})

    def set_tagline(self, text: str) -> None:
        self._run_ctl("set_tagline", {"text": text})

    def set_timezone(self, name: str) -> None:
        self._run_ctl("set_timezone", {"name": name})
