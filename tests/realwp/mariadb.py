"""A throwaway MariaDB server that listens on a unix socket only (--skip-networking)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from .processes import START_TIMEOUT, RealWordPressError, tail, terminate

# A few megabytes of test data: small InnoDB files are quicker to create and to remove.
_SMALL_FILES = ("--innodb-log-file-size=16M", "--innodb-buffer-pool-size=32M")


class MariaDB:
    """A server whose data, socket and logs all live in `directory`.

    begin_install() starts the bootstrap in the background, so the caller can do other work
    while it runs; start() waits for it and then starts the server.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "mysql.sock"
        self._install: subprocess.Popen[bytes] | None = None
        self._server: subprocess.Popen[bytes] | None = None

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to.
        return ["--user=root"] if os.geteuid() == 0 else []

    def begin_install(self) -> None:
        with open(self.directory / "install-db.log", "wb") as log:
            self._install = subprocess.Popen(
                [
                    "mariadb-install-db",
                    "--no-defaults",
                    f"--datadir={self.directory / 'db'}",
                    # The bootstrap's temporary tables in a directory of their own, never the
                    # machine's /tmp: a bootstrap whose tmp_user_sys table vanished from /tmp
                    # failed twice under load ("Unknown table 'mysql.tmp_user_sys'").
                    f"--tmpdir={self.directory}",
                    # root without a password, for the socket only: works as any user.
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                    *_SMALL_FILES,
                    *self._user_args(),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start(self) -> None:
        if self._install is None:
            self.begin_install()
        assert self._install is not None
        try:
            code = self._install.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RealWordPressError(
                f"mariadb-install-db took over {START_TIMEOUT:.0f} s"
            ) from None
        if code != 0:
            # its closing lines are advice; what went wrong is in the lines marked [ERROR]
            install_log = self.directory / "install-db.log"
            text = install_log.read_text(errors="replace")
            errors = "\n".join(line for line in text.splitlines() if "ERROR" in line)
            raise RealWordPressError(
                f"mariadb-install-db failed ({code}):\n{errors}\n{tail(install_log)}"
            )
        with open(self.directory / "mariadb.log", "wb") as log:
            self._server = subprocess.Popen(
                [
                    "mariadbd",
                    "--no-defaults",
                    f"--datadir={self.directory / 'db'}",
                    f"--socket={self.socket}",
                    f"--pid-file={self.directory / 'mariadb.pid'}",
                    f"--tmpdir={self.directory}",
                    "--skip-networking",
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    "--performance-schema=OFF",
                    *_SMALL_FILES,
                    # Throwaway data: don't wait for the disk at each commit.
                    "--innodb-flush-log-at-trx-commit=0",
                    "--innodb-doublewrite=0",
                    *self._user_args(),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_for_server()

    def _wait_for_server(self) -> None:
        assert self._server is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._server.poll() is not None:
                raise RealWordPressError(
                    f"mariadbd exited ({self._server.returncode}):\n"
                    f"{tail(self.directory / 'mariadb.log')}"
                )
            ping = subprocess.run(
                ["mariadb-admin", "--no-defaults", f"--socket={self.socket}", "-uroot", "ping"],
                capture_output=True,
                check=False,
            )
            if ping.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RealWordPressError(
                    f"mariadbd did not answer within {START_TIMEOUT:.0f} s:\n"
                    f"{tail(self.directory / 'mariadb.log')}"
                )
            time.sleep(0.05)

    def create_database(self, name: str, user: str, password: str) -> None:
        sql = (
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;"
            f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{password}';"
            f"GRANT ALL ON `{name}`.* TO '{user}'@'localhost';"
        )
        result = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-e", sql],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RealWordPressError(f"creating the database failed:\n{result.stderr}")

    def stop(self) -> None:
        """Stop the server (and a bootstrap still running); safe to call twice."""
        for process in (self._server, self._install):
            if process is not None:
                terminate(process)
        self._server = self._install = None
