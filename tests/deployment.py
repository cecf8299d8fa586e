"""What tests/test_deploy.py works with: the installed layout the deploy/ files describe and
rendering them under a temporary root, the tools from Debian's packages (a skip without one,
a failure when WATCHER_REQUIRE_DEPLOY=1), the unit's user and its process, the Dockerfile's
instructions, nginx in front of a daemon over a self-signed certificate, and the command lines
of deploy/README.md."""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest

from tests.helpers import ROOT, free_port, running, wait_for
from watcher.cli import cli

DEPLOY = ROOT / "deploy"
REQUIRE_ENV = "WATCHER_REQUIRE_DEPLOY"

# The installed layout deploy/README.md describes, as the unit and the config name it.
CODE = "/opt/watcher"
VENV = "/opt/watcher/.venv"
CONFIG_DIR = "/etc/watcher"
STATE_DIR = "/var/lib/watcher"
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"  # systemd's default PATH

NGINX_SITE = (DEPLOY / "nginx-watcher.conf").read_text(encoding="utf-8")
CERTIFICATE = "/etc/letsencrypt/live/watcher.example.org/fullchain.pem"
CERTIFICATE_KEY = "/etc/letsencrypt/live/watcher.example.org/privkey.pem"


def tool(name: str, package: str) -> str:
    """The program `name` (PATH, then /usr/sbin and /usr/bin), or a skip (a failure when
    WATCHER_REQUIRE_DEPLOY=1)."""
    candidates = [shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    reason = f"needs {name} (apt-get install {package})"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ENV}=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


def replaced(text: str, old: str, new: str) -> str:
    """`text` with `old` replaced, which it must hold: a changed file fails here rather than
    leaving a test to try something else than it means to."""
    assert old in text, f"{old!r} is no longer there"
    return text.replace(old, new)


def parse_cli(args: list[str]) -> tuple[str, ...]:
    """The `watcher` command `args` name, parsed as click parses them (options, arguments,
    required ones) without running it: its path of names, e.g. ("db", "copy")."""
    ctx = cli.make_context("watcher", list(args))
    command: click.Command = cli
    names: list[str] = []
    while isinstance(command, click.Group):
        # a group keeps its subcommand's name apart from the arguments that follow it
        rest = [*ctx._protected_args, *ctx.args]
        name, sub, rest = command.resolve_command(ctx, rest)
        assert name is not None and sub is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
        names.append(name)
    return tuple(names)


def unit_values(unit: str, key: str, section: str = "Service") -> list[str]:
    """Every value `key` has in `section` of a systemd unit, in order (a key may repeat)."""
    values, current = [], ""
    for raw in unit.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.partition("=")[0].strip() == key:
            values.append(line.partition("=")[2].strip())
    return values


def unit_value(unit: str, key: str, section: str = "Service") -> str:
    values = unit_values(unit, key, section)
    assert len(values) == 1, f"{key}= is set {len(values)} times"
    return values[0]


def unit_environment(unit: str) -> dict[str, str]:
    """Its Environment= assignments (EnvironmentFile= is optional, and absent here)."""
    assignments = [
        word for value in unit_values(unit, "Environment") for word in shlex.split(value)
    ]
    return dict(assignment.split("=", 1) for assignment in assignments)


@dataclass(frozen=True)
class Layout:
    """The installed layout under a temporary root: the code is this checkout, the virtual
    environment the one running the tests, /etc/watcher and /var/lib/watcher under `root`."""

    root: Path

    @property
    def etc(self) -> Path:
        return self.root / CONFIG_DIR.lstrip("/")

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR.lstrip("/")

    def render(self, text: str) -> str:
        for installed, here in (
            (VENV, sys.prefix),  # the longer path first: it sits inside CODE
            (CODE, str(ROOT)),
            (CONFIG_DIR, str(self.etc)),
            (STATE_DIR, str(self.state)),
        ):
            text = text.replace(installed, here)
        return text


def verify(systemd_analyze: str, unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [systemd_analyze, "verify", str(unit)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@contextmanager
def unit_user() -> Iterator[pwd.struct_passwd]:
    """The unit's user: a system user made for the test (and removed) when we are root, else
    the current user."""
    if os.geteuid() != 0:
        yield pwd.getpwuid(os.geteuid())
        return
    name = f"wt{secrets.token_hex(4)}"
    useradd = tool("useradd", "passwd")
    subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", name],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run([tool("userdel", "passwd"), name], check=False, capture_output=True)


def as_user(user: pwd.struct_passwd, command: list[str]) -> list[str]:
    """`command` as `user` (setpriv, when we are root), its environment exactly `command`'s."""
    if os.geteuid() != 0:
        return command
    switch = [
        tool("setpriv", "util-linux"),
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        "--init-groups",
    ]
    # Installed, the code and its venv in /opt/watcher are world-readable. A checkout, or the
    # Python its venv links to, may sit where other users cannot read (under /root, say): then
    # the user is let read past file permissions (never write), as it reads /opt/watcher.
    watcher = str(Path(sys.prefix, "bin", "watcher"))
    probe = [*switch, "--", "env", "-i", f"PATH={SYSTEMD_PATH}", watcher, "--version"]
    if subprocess.run(probe, capture_output=True, check=False, timeout=60).returncode != 0:
        switch += ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    return [*switch, "--", *command]


def unit_process(command: list[str], cwd: str, log: Any) -> Any:
    """The unit's command in its working directory, killed on the way out if still running."""
    return running(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log)


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), comments gone and continued lines joined."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            instructions.append((instruction.upper(), arguments.strip()))
    return instructions


def instruction(name: str) -> str:
    found = [arguments for kind, arguments in dockerfile() if kind == name]
    assert len(found) == 1, f"{name} appears {len(found)} times"
    return found[0]


NGINX_CONF = """\
daemon off;
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site};
}}
"""


@dataclass(frozen=True)
class Front:
    https: str
    http: str
    tls: ssl.SSLContext


@contextmanager
def nginx_in_front(tmp: Path, upstream: int) -> Iterator[Front]:
    nginx, openssl = tool("nginx", "nginx-light"), tool("openssl", "openssl")
    tmp.mkdir()
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    https_port, http_port = free_port(), free_port()
    site = replaced(NGINX_SITE, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = replaced(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = "\n".join(
        line for line in site.splitlines() if "listen [::]" not in line
    )  # 127.0.0.1 only
    site = replaced(site, "server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream};")
    site = replaced(replaced(site, CERTIFICATE, str(cert)), CERTIFICATE_KEY, str(key))
    (tmp / "site.conf").write_text(site, encoding="utf-8")
    # started as root, the workers would be `nobody`, who cannot enter a private directory
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, user=user, site=tmp / "site.conf"), encoding="utf-8")
    command = [nginx, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    tested = subprocess.run(
        [*command, "-t"], capture_output=True, text=True, check=False, timeout=60
    )
    assert tested.returncode == 0 and "test is successful" in tested.stderr, tested.stderr
    process = subprocess.Popen(command, start_new_session=True)
    try:

        def listening() -> bool:
            assert process.poll() is None, (tmp / "error.log").read_text()
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", https_port)) == 0

        wait_for(listening, 30, "nginx")
        tls = ssl.create_default_context(cafile=str(cert))
        yield Front(f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", tls)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


OPERATORS = {"&&", "||", "|", ";"}


REDIRECTS = {">", ">>", "<"}


def readme_lines(text: str) -> list[str]:
    """Every command line of the ```sh blocks of `text` (continued lines joined)."""
    blocks = re.findall(r"^( *)```sh\n(.*?)^\1```", text, re.DOTALL | re.MULTILINE)
    lines = []
    for _indent, block in blocks:
        text = textwrap.dedent(block).replace("\\\n", " ")
        lines += [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return lines


def simple_commands(line: str) -> Iterator[tuple[list[str], list[str]]]:
    """Each simple command of a line: its words, and the files it redirects output to."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words: list[str] = []
    written: list[str] = []
    tokens = iter(lexer)
    for token in tokens:
        if token in OPERATORS:
            yield words, written
            words, written = [], []
        elif token in REDIRECTS:
            target = next(tokens)
            if token != "<":
                written.append(target)
        else:
            words.append(token)
    yield words, written
