"""deploy/, tried as an operator would. The systemd unit, rendered for its installed layout,
passes `systemd-analyze verify`, and its command, run as its own user with its environment and
the shipped config, serves /healthz and /metrics (naming the source, counting its checks),
reloads on its ExecReload and stops on its KillSignal. The Dockerfile and the compose file name files,
commands, config keys and ports that exist, and the compose file passes `docker-compose
config`. The nginx site passes `nginx -t` and serves a feed over TLS while refusing /metrics.
Every command of deploy/README.md names files that exist and `watcher` commands and options
that parse, and its SQLite backup runs.

The tools come from Debian's packages (systemd, docker-compose, nginx-light, openssl,
sqlite3); a test skips without its tool, unless WATCHER_REQUIRE_DEPLOY=1 (as in CI), where it
fails instead. The plumbing (rendering the layout, the unit's user, nginx in front, reading the
Dockerfile and the README's commands) is in tests/deployment.py.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import tomllib
from contextlib import suppress
from pathlib import Path

import click
import feedparser
import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.deployment import (
    CODE,
    CONFIG_DIR,
    DEPLOY,
    STATE_DIR,
    SYSTEMD_PATH,
    VENV,
    Layout,
    as_user,
    dockerfile,
    instruction,
    nginx_in_front,
    parse_cli,
    readme_lines,
    replaced,
    simple_commands,
    tool,
    unit_environment,
    unit_process,
    unit_user,
    unit_value,
    unit_values,
    verify,
)
from tests.helpers import (
    ROOT,
    DaemonProcess,
    free_port,
    listening,
    run_watcher,
    wait_for,
    wordpress_source,
    write_config,
)
from tests.sim.wordpress import SimWordPress
from watcher.config import parse_config
from watcher.lock import lock_path

TITLE = "Leaders meet in Hanoi"
BODY = "HANOI, 2 June 2026 -- The leaders met today."


# -- the systemd unit ------------------------------------------------------------------------

UNIT = (DEPLOY / "watcher.service").read_text(encoding="utf-8")
SHIPPED_CONFIG = (DEPLOY / "watcher.yaml").read_text(encoding="utf-8")


def test_the_shipped_config_keeps_the_state_where_the_unit_may_write() -> None:
    config_file = Path(unit_environment(UNIT)["WATCHER_CONFIG"])
    assert config_file == Path(CONFIG_DIR) / "watcher.yaml"
    state = Path("/var/lib") / unit_value(UNIT, "StateDirectory")
    assert state == Path(STATE_DIR)
    config = parse_config(SHIPPED_CONFIG, config_file)
    assert config.state_dir == state
    assert config.database_url == f"sqlite:///{state}/watcher.db"
    assert lock_path(config).parent == state
    assert unit_value(UNIT, "WorkingDirectory") == str(state)
    # the one place it writes: no other path is made writable
    assert unit_values(UNIT, "ReadWritePaths") == []
    # without `state_dir:` it would be /etc/state, which ProtectSystem=strict makes read-only
    data = yaml.safe_load(SHIPPED_CONFIG)
    del data["state_dir"]
    assert parse_config(yaml.safe_dump(data), config_file).state_dir == Path("/etc/state")


def test_the_unit_runs_its_own_user_restarts_reloads_and_is_hardened() -> None:
    assert unit_value(UNIT, "User") == unit_value(UNIT, "Group") == "watcher"
    exec_start = shlex.split(unit_value(UNIT, "ExecStart"))
    assert exec_start[0] == f"{VENV}/bin/watcher"
    assert parse_cli(exec_start[1:]) == ("run",)
    assert unit_value(UNIT, "Restart") == "on-failure"
    assert unit_value(UNIT, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert unit_value(UNIT, "KillSignal") == "SIGTERM"
    for setting in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert unit_value(UNIT, setting) == "true", setting
    assert unit_value(UNIT, "ProtectSystem") == "strict"
    assert unit_value(UNIT, "CapabilityBoundingSet") == ""
    assert unit_value(UNIT, "WantedBy", "Install") == "multi-user.target"


@pytest.mark.slow
def test_the_rendered_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    systemd_analyze = tool("systemd-analyze", "systemd")
    assert Path(sys.prefix, "bin", "watcher").is_file(), "the tests run from the project's venv"
    unit = tmp_path / "watcher.service"
    unit.write_text(Layout(tmp_path).render(UNIT), encoding="utf-8")
    checked = verify(systemd_analyze, unit)
    complaints = [line for line in checked.stderr.splitlines() if "watcher" in line]
    assert checked.returncode == 0 and complaints == [], checked.stderr
    # it checks what it should: a command that is not there is reported
    broken = tmp_path / "broken" / "watcher.service"
    broken.parent.mkdir()
    broken.write_text(replaced(UNIT, f"{VENV}/bin/watcher", "/nonexistent/bin/watcher"))
    refused = verify(systemd_analyze, broken)
    assert refused.returncode != 0 and "/nonexistent/bin/watcher" in refused.stderr


@pytest.mark.slow
def test_the_units_command_serves_as_its_user_reloads_and_stops(site: SimWordPress) -> None:
    site.add_post(TITLE, BODY)
    base = Path(tempfile.mkdtemp(prefix="watcher-deploy-"))  # not tmp_path: others may enter
    try:
        with unit_user() as user:
            base.chmod(0o755)
            layout = Layout(base)
            unit = replaced(layout.render(UNIT), "User=watcher", f"User={user.pw_name}")
            # the config, installed as the README says (root's, readable), for this site
            port = free_port()
            config = yaml.safe_load(layout.render(SHIPPED_CONFIG))
            config["server"]["listen"] = f"127.0.0.1:{port}"
            config["sources"] = [wordpress_source(site)]
            environment = unit_environment(unit)
            config_file = Path(environment["WATCHER_CONFIG"])
            config_file.parent.mkdir(parents=True)
            for directory in (base / "etc", config_file.parent):
                directory.chmod(0o755)
            config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            config_file.chmod(0o644)
            # StateDirectory=: made and given to the user, mode StateDirectoryMode=
            state = layout.state
            state.mkdir(parents=True)
            os.chown(state, user.pw_uid, user.pw_gid)
            state.chmod(int(unit_value(unit, "StateDirectoryMode"), 8))
            assert Path(config["state_dir"]) == state

            env = {
                "PATH": SYSTEMD_PATH,
                "HOME": user.pw_dir,
                "USER": user.pw_name,
                "LOGNAME": user.pw_name,
                "SHELL": user.pw_shell,
                **environment,
            }
            exec_start = shlex.split(unit_value(unit, "ExecStart"))
            command = as_user(
                user, ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *exec_start]
            )
            log = base / "daemon.log"
            with (
                log.open("wb") as log_file,
                unit_process(command, unit_value(unit, "WorkingDirectory"), log_file) as daemon,
            ):
                _serves_and_checks(daemon, port, log, state, user)
                # ExecReload=, as systemctl reload runs it
                reload = shlex.split(
                    unit_value(unit, "ExecReload").replace("$MAINPID", str(daemon.pid))
                )
                subprocess.run(reload, check=True, timeout=30)
                wait_for(
                    lambda: "config reloaded: 1 source(s)" in log.read_text(), 30, "the reload"
                )
                assert daemon.poll() is None
                # KillSignal=, within TimeoutStopSec=
                daemon.send_signal(signal.Signals[unit_value(unit, "KillSignal")])
                assert daemon.wait(timeout=int(unit_value(unit, "TimeoutStopSec"))) == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _serves_and_checks(
    daemon: subprocess.Popen[bytes], port: int, log: Path, state: Path, user: pwd.struct_passwd
) -> None:
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> httpx.Response | None:
        if daemon.poll() is not None:
            tail = "\n".join(log.read_text().splitlines()[-15:])
            raise AssertionError(
                f"the unit's command exited with code {daemon.returncode}:\n{tail}"
            )
        with suppress(httpx.TransportError):
            return httpx.get(base + path, timeout=5)
        return None

    health = wait_for(lambda: get("/healthz"), 60, "/healthz")
    assert health is not None
    assert health.status_code == 200 and health.text.startswith("ok"), health.text
    # it checked the site, with the shipped config's politeness, and wrote its state
    wait_for(
        lambda: (
            (answer := get("/feeds/all.atom")) is not None
            and f"New: {TITLE}" in [e.title for e in feedparser.parse(answer.content).entries]
        ),
        90,
        "the first check's feed entry",
    )
    database = state / "watcher.db"
    assert database.stat().st_uid == user.pw_uid
    assert {path.stat().st_uid for path in state.rglob("*")} == {user.pw_uid}

    def metrics() -> httpx.Response | None:
        answer = get("/metrics")
        return answer if answer is not None and '"asean"' in answer.text else None

    # the metrics name the source and count its checks
    scraped = wait_for(metrics, 30, "/metrics naming the source")
    assert scraped is not None and scraped.status_code == 200
    checks = {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "watcher_checks_total" and sample.labels.get("source") == "asean"
    }
    assert checks.get("ok", 0) >= 1, checks


# -- the container ---------------------------------------------------------------------------

CONTAINER_CONFIG = (DEPLOY / "container.yaml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def listen_port(config_text: str) -> int:
    listen = yaml.safe_load(config_text)["server"]["listen"]
    return int(listen.rpartition(":")[2])


def healthcheck_code() -> str:
    check = instruction("HEALTHCHECK")
    command = json.loads(check[check.index("CMD") + 3 :])
    assert command[:2] == ["python", "-c"]
    return str(command[2])


def test_the_dockerfile_builds_from_files_that_exist_and_runs_a_watcher_command() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert instruction("FROM") == "python:3.11-slim"
    assert pyproject["project"]["requires-python"] == ">=3.11"
    # the build context is the checkout's root (the compose file builds it so)
    build = COMPOSE["services"]["watcher"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == ROOT and (context / build["dockerfile"]) == DEPLOY / "Dockerfile"
    copied = []
    for kind, arguments in dockerfile():
        if kind == "COPY":
            *sources, _target = arguments.split()
            copied += sources
    for source in copied:
        assert (context / source).exists(), source
    # what pip needs to build the package: its metadata, readme, constraints and code
    assert {"pyproject.toml", pyproject["project"]["readme"], "constraints.txt", "watcher"} <= set(
        copied
    )
    install = next(
        arguments
        for kind, arguments in dockerfile()
        if kind == "RUN" and "pip install" in arguments
    )
    assert "constraints.txt" in install and "'.[postgres]'" in install
    assert "postgres" in pyproject["project"]["optional-dependencies"]
    # a user of its own, not root
    user = instruction("USER")
    assert user not in ("root", "0") and f"--shell /usr/sbin/nologin {user}" in " ".join(
        arguments for kind, arguments in dockerfile() if kind == "RUN"
    )
    # `watcher run`: the package's script, and a command it has
    entrypoint, command = json.loads(instruction("ENTRYPOINT")), json.loads(instruction("CMD"))
    assert entrypoint == ["watcher"] and "watcher" in pyproject["project"]["scripts"]
    assert parse_cli(command) == ("run",)


def test_the_image_serves_on_the_port_of_its_config_and_keeps_state_in_its_volume() -> None:
    port = listen_port(CONTAINER_CONFIG)
    assert yaml.safe_load(CONTAINER_CONFIG)["server"]["listen"] == f"0.0.0.0:{port}"
    assert instruction("EXPOSE") == str(port)
    assert f"http://127.0.0.1:{port}/healthz" in healthcheck_code()
    compile(healthcheck_code(), "HEALTHCHECK", "exec")
    env = dict(
        word.split("=", 1)
        for kind, arguments in dockerfile()
        if kind == "ENV"
        for word in shlex.split(arguments)
    )
    config_file = env["WATCHER_CONFIG"]
    volume = json.loads(instruction("VOLUME"))
    state_dir = yaml.safe_load(CONTAINER_CONFIG)["state_dir"]
    assert volume == [state_dir]
    # the compose file mounts the config there, read-only, and the state volume on state_dir
    watcher = COMPOSE["services"]["watcher"]
    mounts = {
        target: (source, mode)
        for source, target, *mode in (v.split(":") for v in watcher["volumes"])
    }
    source, mode = mounts[config_file]
    assert (DEPLOY / source).resolve() == DEPLOY / "container.yaml" and mode == ["ro"]
    assert mounts[state_dir][0] in COMPOSE["volumes"]
    assert watcher["ports"] == [f"127.0.0.1:{port}:{port}"]  # for nginx on the same machine


def compose_config(tmp_path: Path, env_file: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "compose.env").write_text(env_file, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("WATCHER_")}
    return subprocess.run(
        [tool("docker-compose", "docker-compose"), "--env-file", str(tmp_path / "compose.env"),
         "--file", str(DEPLOY / "compose.yaml"), "config"],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_the_compose_file_is_valid_and_hands_the_watcher_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = compose_config(tmp_path, "")
    assert refused.returncode != 0 and "WATCHER_DB_PASSWORD" in refused.stderr
    checked = compose_config(tmp_path, "WATCHER_DB_PASSWORD=s3cret\n")
    assert checked.returncode == 0, checked.stderr
    services = yaml.safe_load(checked.stdout)["services"]
    assert set(services) == {"watcher", "db", "smtp"}
    assert services["smtp"]["profiles"] == ["mail"]
    assert "profiles" not in services["watcher"] and "profiles" not in services["db"]
    # every variable the watcher gets is one its config reads, and the config loads with them
    environment = services["watcher"]["environment"]
    config = yaml.safe_load(CONTAINER_CONFIG)
    assert set(environment) == {config["database_env"]}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    loaded = parse_config(CONTAINER_CONFIG, Path("/etc/watcher/watcher.yaml"))
    url = httpx.URL(loaded.database_url)
    db = services["db"]["environment"]
    assert url.host == "db" and url.port == 5432
    assert (
        (url.username, url.password)
        == (db["POSTGRES_USER"], "s3cret")
        == (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"])
    )
    assert url.path == f"/{db['POSTGRES_DB']}"
    assert services["watcher"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name, service in services.items():  # logs rotated, as deploy/README.md says
        assert service["logging"] == {
            "driver": "local",
            "options": {"max-size": "10m", "max-file": "5"},
        }, name


def test_the_containers_mail_example_names_the_compose_relay() -> None:
    commented = CONTAINER_CONFIG[CONTAINER_CONFIG.index("# email:") :]
    example = "\n".join(line.removeprefix("# ") for line in commented.splitlines())
    data = {**yaml.safe_load(CONTAINER_CONFIG), **yaml.safe_load(example)}
    data.pop("database_env")  # the mail needs no database here
    config = parse_config(
        yaml.safe_dump(data, allow_unicode=True), Path("/etc/watcher/watcher.yaml")
    )
    assert config.email is not None
    assert config.email.smtp.host in COMPOSE["services"]
    assert config.email.smtp.port == 587  # where the relay takes mail
    assert [s.name for s in config.subscriptions] == ["russia-morning"]


# -- nginx in front --------------------------------------------------------------------------

NGINX_SITE = (DEPLOY / "nginx-watcher.conf").read_text(encoding="utf-8")
CERTIFICATE = "/etc/letsencrypt/live/watcher.example.org/fullchain.pem"
CERTIFICATE_KEY = "/etc/letsencrypt/live/watcher.example.org/privkey.pem"


@pytest.mark.slow
def test_nginx_serves_the_feeds_over_tls_and_never_metrics(
    site: SimWordPress, tmp_path: Path
) -> None:
    site.add_post(TITLE, BODY)
    port = free_port()
    config = write_config(tmp_path, [wordpress_source(site)], **listening(port))
    with DaemonProcess(config, port, tmp_path / "daemon.log") as daemon:
        wait_for(daemon.serving, 60, "the daemon")
        wait_for(daemon.entries, 60, "the first check's feed entries")
        with (
            nginx_in_front(tmp_path / "nginx", port) as front,
            httpx.Client(verify=front.tls, timeout=10) as client,
        ):
            feed = client.get(f"{front.https}/feeds/all.atom")
            assert feed.status_code == 200
            assert f"New: {TITLE}" in [
                entry.title for entry in feedparser.parse(feed.content).entries
            ]
            assert feed.headers["cache-control"] == "public, max-age=300, must-revalidate"
            assert feed.headers["strict-transport-security"].startswith("max-age=")
            assert feed.headers["x-content-type-options"] == "nosniff"  # the daemon's, passed on
            again = client.get(
                f"{front.https}/feeds/all.atom", headers={"If-None-Match": feed.headers["etag"]}
            )
            assert again.status_code == 304
            page = client.get(f"{front.https}/")
            assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
            assert TITLE in page.text
            # the daemon's own 404s are passed on; /metrics, however spelt, is nginx's
            direct = daemon.get("/nothing-here")
            passed = client.get(f"{front.https}/nothing-here")
            assert direct is not None and (passed.status_code, passed.text) == (404, direct.text)
            assert "nginx" not in passed.text
            for path in (
                "/metrics",
                "/metrics?format=text",
                "/%6Detrics",
                "//metrics",
                "/metrics/",
            ):
                refused = client.get(f"{front.https}{path}")
                assert refused.status_code == 404 and "<center>nginx" in refused.text, path
            redirect = client.get(f"{front.http}/feeds/all.atom")
            assert redirect.status_code == 301
            assert redirect.headers["location"] == "https://127.0.0.1/feeds/all.atom"
        # the image's HEALTHCHECK, against this daemon: 0 while it answers, else not
        for target, expected in ((port, 0), (free_port(), 1)):
            code = healthcheck_code().replace("127.0.0.1:8080", f"127.0.0.1:{target}")
            ran = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, check=False, timeout=30
            )
            assert ran.returncode == expected, ran.stderr


# -- deploy/README.md ------------------------------------------------------------------------

DEPLOY_README = (DEPLOY / "README.md").read_text(encoding="utf-8")


def watcher_arguments(words: list[str]) -> list[str] | None:
    """The arguments of a `watcher` command in `words`: the installed one, or the compose
    service's (`... exec [-T] watcher watcher ARGS`)."""
    for i, word in enumerate(words):
        if word.endswith("/.venv/bin/watcher"):
            return words[i + 1 :]
    if "exec" in words:
        rest = list(words[words.index("exec") + 1 :])
        while rest and rest[0].startswith("-"):
            rest.pop(0)
        if len(rest) > 1 and rest[0] in COMPOSE["services"] and rest[1] == "watcher":
            return rest[2:]
    return None


def test_every_command_of_deploy_readme_names_real_files_and_watcher_commands() -> None:
    written: set[str] = set()
    parsed: list[tuple[str, ...]] = []
    for line in readme_lines(DEPLOY_README):
        for words, outputs in simple_commands(line):
            for word in words:
                path = re.sub(r"\[\w+\]$", "", word)  # '/opt/watcher[postgres]': the checkout
                if path == CODE or (path.startswith(f"{CODE}/") and not path.startswith(VENV)):
                    assert (ROOT / path.removeprefix(CODE).lstrip("/")).exists(), line
                elif path.startswith("deploy/"):
                    assert (ROOT / path).exists() or path in written, line
            written.update(outputs)
            arguments = watcher_arguments(words)
            if arguments is not None:
                try:
                    parsed.append(parse_cli(arguments))
                except click.ClickException as exc:
                    raise AssertionError(f"{line}: {exc.format_message()}") from None
    assert {
        ("config", "check"),
        ("db", "upgrade"),
        ("db", "copy"),
        ("status",),
        ("releases",),
    } <= set(parsed)
    assert "db copy --to-env WATCHER_DATABASE" in DEPLOY_README
    # the files it names in its text exist too
    for name in re.findall(r"`(deploy/[^`\s]+)`", DEPLOY_README):
        assert (ROOT / name).exists() or name in written, name


def test_deploy_readme_installs_the_layout_the_unit_expects() -> None:
    commands = readme_lines(DEPLOY_README)
    assert f"python3 -m venv {VENV}" in commands
    assert shlex.split(unit_value(UNIT, "ExecStart"))[0].startswith(f"{VENV}/bin/")
    useradd = next(line for line in commands if line.startswith("useradd "))
    assert shlex.split(useradd)[-1] == unit_value(UNIT, "User")
    assert f"--home-dir {STATE_DIR}" in useradd and "--system" in useradd
    config = unit_environment(UNIT)["WATCHER_CONFIG"]
    assert f"install -m 0644 {CODE}/deploy/watcher.yaml {config}" in commands
    unit = "/etc/systemd/system/watcher.service"
    assert f"install -m 0644 {CODE}/deploy/watcher.service {unit}" in commands
    assert f"systemd-analyze verify {unit}" in commands
    # the secrets file the unit reads, readable by its group only
    environment_file = unit_value(UNIT, "EnvironmentFile").removeprefix("-")
    assert f"install -m 0640 -g watcher /dev/null {environment_file}" in commands


def test_the_readmes_point_to_each_other() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "deploy/README.md" in readme
    for name in (
        "watcher.service",
        "watcher.yaml",
        "Dockerfile",
        "compose.yaml",
        "container.yaml",
        "nginx-watcher.conf",
    ):
        assert f"`deploy/{name}`" in DEPLOY_README, name


@pytest.mark.slow
def test_the_readmes_sqlite_backup_copies_a_live_database(
    site: SimWordPress, tmp_path: Path
) -> None:
    sqlite = tool("sqlite3", "sqlite3")
    site.add_post(TITLE, BODY)
    config = write_config(tmp_path, [wordpress_source(site)])
    assert run_watcher("check", config=config).returncode == 0
    state, backups = tmp_path / "state", tmp_path / "backups"
    section = DEPLOY_README.split("## Back up and restore", 1)[1].split("\n## ", 1)[0]
    commands = [
        line for line in readme_lines(section) if line.startswith(("install -d", "sqlite3 "))
    ]
    assert len(commands) == 3  # the directory, the backup, its check
    outputs = []
    for command in commands:
        rendered = command.replace(STATE_DIR, str(state)).replace(
            "/var/backups/watcher", str(backups)
        )
        rendered = (
            replaced(rendered, "sqlite3 ", f"{sqlite} ")
            if command.startswith("sqlite3")
            else rendered
        )
        ran = subprocess.run(
            ["sh", "-c", rendered], capture_output=True, text=True, check=False, timeout=60
        )
        assert ran.returncode == 0, f"{rendered}: {ran.stderr}"
        outputs.append(ran.stdout.strip())
    assert outputs[-1] == "ok"  # PRAGMA integrity_check
    with sqlite3.connect(backups / "watcher.db") as copy:
        titles = [row[0] for row in copy.execute("SELECT title FROM release")]
    assert titles == [TITLE]
