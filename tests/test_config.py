"""Configuration: validated once, completely; every problem is one line with file, line, key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import ROOT
from watcher.config import config_path, http_options, load_config, parse_config
from watcher.errors import ConfigError
from watcher.units import format_duration, parse_duration, parse_size

GOOD = """\
state_dir: ../state
server: {listen: 127.0.0.1:8080, base_url: http://127.0.0.1:8080}
http: {user_agent: "ua", timeout: 30s, max_bytes: 20MB, per_host_concurrency: 2, min_delay: 1s, robots: true}
sources:
  - name: asean
    type: wordpress
    url: https://asean.org
    categories: [news, statements-meetings, speeches]
    every: 15m
    sweep_every: 1h
  - name: asean-statements-html
    type: html
    profile: asean
    url: https://asean.org/category/statements-meetings/
    max_pages: 10
    every: 1h
  - name: mfa-sg-asean-news
    type: html
    url: https://example.org/latest-news/
    selectors: {item: "article > a", next: "a.page-numbers.next", title: "h2", date: ".date", content: ".entry-content", exclude: [".sidebar"]}
    every: 1h
"""


def test_the_issue_example_is_valid_and_resolved_against_its_directory(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    path = folder / "watcher.yaml"
    path.write_text(GOOD)
    config = load_config(path)
    assert config.state_dir == tmp_path / "state"
    assert config.database_url == f"sqlite:///{tmp_path / 'state' / 'watcher.db'}"
    assert [s.name for s in config.sources] == [
        "asean",
        "asean-statements-html",
        "mfa-sg-asean-news",
    ]
    html = config.source("mfa-sg-asean-news")
    selectors = html.selectors
    assert selectors.item == "article > a"
    assert ".sidebar" in selectors.exclude
    assert config.source("asean").every == timedelta(minutes=15)


def test_the_shipped_default_config_watches_asean_org() -> None:
    config = load_config(ROOT / "config" / "watcher.yaml")
    [source] = config.sources
    assert (source.kind, source.url) == ("wordpress", "https://asean.org")
    assert config.state_dir == ROOT / "state"


def test_relative_sqlite_url_is_relative_to_the_config(tmp_path: Path) -> None:
    config = parse_config("database: sqlite:///../db/w.db\n", tmp_path / "conf" / "w.yaml")
    assert config.database_url == f"sqlite:///{tmp_path / 'db' / 'w.db'}"


def test_database_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_DB", "postgresql://w:secret@127.0.0.1/w")
    config = parse_config("database_env: WATCHER_DB\n", tmp_path / "w.yaml")
    assert config.database_url == "postgresql://w:secret@127.0.0.1/w"
    monkeypatch.delenv("WATCHER_DB")
    with pytest.raises(
        ConfigError, match=r"w.yaml:1: database_env: environment variable WATCHER_DB is not set"
    ):
        parse_config("database_env: WATCHER_DB\n", tmp_path / "w.yaml")


def test_config_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    assert config_path(None) == Path("config/watcher.yaml")
    monkeypatch.setenv("WATCHER_CONFIG", "/etc/watcher.yaml")
    assert config_path(None) == Path("/etc/watcher.yaml")
    assert config_path("mine.yaml") == Path("mine.yaml")


BAD = [
    (
        "sources:\n  - name: a\n    type: html\n    url: https://e.org/\n    profile: asean\n    every: 15 minutes\n",
        "bad.yaml:6: sources[0].every: '15 minutes' is not a duration (use 15m, 1h, 1d)",
    ),
    (
        "sources: [\n",
        "bad.yaml:2: YAML syntax error: expected the node content, but found '<stream end>'",
    ),
    ("colour: red\n", "bad.yaml:1: colour: unknown key"),
    (
        "sources:\n  - name: a\n    type: rss\n    url: https://e.org/\n",
        "bad.yaml:2: sources[0]: 'rss' is not a source type (use wordpress, html, feed)",
    ),
    (
        "sources:\n  - name: a\n    type: html\n    url: ftp://e.org/\n    profile: asean\n",
        "bad.yaml:4: sources[0].url: 'ftp://e.org/' is not an http(s) URL",
    ),
    (
        "sources:\n  - name: a\n    type: html\n    url: https://e.org/\n    profile: joomla\n",
        "bad.yaml:5: sources[0].profile: 'joomla' is not a profile (use asean, wordpress)",
    ),
    (
        "sources:\n  - name: a\n    type: html\n    url: https://e.org/\n",
        "bad.yaml:2: sources[0]: an html source needs `profile:` or `selectors: {item: ...}`",
    ),
    (
        "sources:\n  - name: a\n    type: html\n    url: https://e.org/\n    selectors: {item: 'a[[['}\n",
        "bad.yaml:5: sources[0].selectors.item: 'a[[[' is not a CSS selector",
    ),
    (
        "http: {max_bytes: lots}\n",
        "bad.yaml:1: http.max_bytes: 'lots' is not a size (use 512KB, 20MB, 1GB)",
    ),
    (
        "http: {per_host_concurrency: 0}\n",
        "bad.yaml:1: http.per_host_concurrency: input should be greater than or equal to 1 (got 0)",
    ),
    (
        "server: {listen: localhost}\n",
        "bad.yaml:1: server.listen: 'localhost' is not HOST:PORT (e.g. 127.0.0.1:8080)",
    ),
    (
        "sources:\n  - {name: a, type: feed, url: 'https://e.org/feed'}\n  - {name: a, type: feed, url: 'https://e.org/f2'}\n",
        "bad.yaml:1: sources: two sources are named 'a'",
    ),
    (
        "sources:\n  - {name: A B, type: feed, url: 'https://e.org/feed'}\n",
        "bad.yaml:2: sources[0].name: 'A B' may use only a-z, 0-9, '-', '_' and '.', starting with a letter or digit",
    ),
    (
        "sources:\n  - {name: a, url: 'https://e.org/feed'}\n",
        "bad.yaml:2: sources[0]: `type:` is missing (use wordpress, html, feed)",
    ),
    ("- just\n- a list\n", "bad.yaml:1: the config must be a mapping of keys to values"),
    (
        "sources:\n  - {name: a, type: wordpress, url: 'https://e.org', every: 0s}\n",
        "bad.yaml:2: sources[0].every: must be at least 1s",
    ),
    (
        "log_level: LOUD\n",
        "bad.yaml:1: log_level: 'LOUD' is not one of 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
    ),
    (
        "database: nonsense-url\n",
        "bad.yaml:1: database: 'nonsense-url' is not a database URL (e.g. sqlite:///../state/watcher.db, postgresql://user@host/db)",
    ),
    (
        "http:\n  timeout: 5s\n  timeout: 9s\n",
        "bad.yaml:3: http.timeout: given twice (first on line 2)",
    ),
    (
        "topics:\n  russia:\n    preset: partner/atlantis\n",
        "bad.yaml:3: topics.russia.preset: 'partner/atlantis' is not a preset (see `watcher topics presets`)",
    ),
    (
        "topics:\n  russia:\n    any: ['/[/']\n",
        "bad.yaml:3: topics.russia.any[0]: /[/ is not a valid regular expression",
    ),
    (
        "topics:\n  russia:\n    in: [summary]\n",
        "bad.yaml:3: topics.russia.in[0]: 'summary' is not one of 'title' or 'body'",
    ),
    (
        "topics: {russia: {preset: partner/russia}}\nsubscriptions:\n  - name: m\n    topics: [rusia]\n",
        "bad.yaml:4: subscriptions[0].topics[0]: 'rusia' is not a topic (topics: russia)",
    ),
    (
        "topics: {russia: {preset: partner/russia}}\nsubscriptions:\n  - name: m\n    to: [a@example.org]\n    topics: [russia]\n",
        "bad.yaml:4: subscriptions[0].to: sending mail needs an `email:` section (smtp, from)",
    ),
    (
        "topics: {russia: {preset: partner/russia}}\nsubscriptions:\n  - name: m\n    topics: [russia]\n    schedule: every morning\n",
        "bad.yaml:5: subscriptions[0].schedule: 'every morning' is not a schedule (use 'daily 08:00', 'weekly mon 08:00' or a cron line)",
    ),
    (
        "topics: {russia: {preset: partner/russia}}\nsubscriptions:\n  - name: m\n    topics: [russia]\n    timezone: Asia/Atlantis\n",
        "bad.yaml:5: subscriptions[0].timezone: 'Asia/Atlantis' is not a time zone (use a name such as Asia/Jakarta or UTC)",
    ),
    (
        "topics: {russia: {preset: partner/russia}}\nsubscriptions:\n  - name: m\n    to: [nobody]\n    topics: [russia]\n",
        "bad.yaml:4: subscriptions[0].to[0]: 'nobody' is not an email address",
    ),
    (
        "email: {smtp: {host: 127.0.0.1, password_env: WATCHER_TEST_UNSET_PASSWORD}, from: 'w <w@example.org>'}\n"
        "topics: {russia: {preset: partner/russia}}\nsubscriptions:\n  - {name: m, to: [a@example.org], topics: [russia]}\n",
        "bad.yaml:1: email.smtp.password_env: environment variable WATCHER_TEST_UNSET_PASSWORD is not set",
    ),
    (
        "email: {smtp: {host: 127.0.0.1, security: tls}, from: 'w <w@example.org>'}\n",
        "bad.yaml:1: email.smtp.security: 'tls' is not one of 'starttls', 'ssl' or 'none'",
    ),
    (
        "sources: !!python/object/apply:os.system ['touch hacked']\n",
        "bad.yaml:1: sources: the YAML tag !!python/object/apply:os.system is not allowed: a config holds plain values only",
    ),
    (
        "!!python/object/apply:os.system ['touch hacked']\n",
        "bad.yaml:1: the YAML tag !!python/object/apply:os.system is not allowed: a config holds plain values only",
    ),
    (
        "database: !env DATABASE_URL\n",
        "bad.yaml:1: database: the YAML tag !env is not allowed: a config holds plain values only (secrets come from the environment: database_env, password_env, notify_env)",
    ),
    (
        "http:\n  timeout: &t !!float abc\n",
        "bad.yaml:2: http.timeout: the YAML tag !!float is not allowed: a config holds plain values only",
    ),
    ("http:\n  [1, 2]: x\n", "bad.yaml:2: http: a key must be a plain name"),
    (
        "http:\n  user_agent: x\n  timeout: 2026-13-45\n",
        "bad.yaml:3: a value YAML cannot read: month must be in 1..12",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_configs_give_one_line_with_file_line_and_key(
    text: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("bad.yaml"))
    shown = str(caught.value)
    assert "\n" not in shown
    assert shown.startswith(message), shown
    assert list(tmp_path.iterdir()) == []  # nothing in a config runs


def test_a_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config: No such file or directory"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(minutes=90)),
        ("0s", timedelta()),
        ("2d", timedelta(days=2)),
        ("500ms", timedelta(milliseconds=500)),
    ],
)
def test_durations(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize("text", ["", "15", "15 minutes", "m", "1x"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 (the message is the input itself)
        parse_duration(text)
    assert str(caught.value) == text


_FEED = "{name: a, type: feed, url: 'https://e.org/feed', %s}"

TOO_LONG = [
    ("sources:\n  - " + _FEED % "every: 9999999999d" + "\n",
     "bad.yaml:2: sources[0].every: '9999999999d' is longer than 365d"),
    ("sources:\n  - " + _FEED % "jitter: 3000000d" + "\n",
     "bad.yaml:2: sources[0].jitter: '3000000d' is longer than 365d"),
    ("http:\n  user_agent: x\n  timeout: 366d\n",
     "bad.yaml:3: http.timeout: '366d' is longer than 365d"),
    ("health: {unhealthy_after: 53w}\n",
     "bad.yaml:1: health.unhealthy_after: '53w' is longer than 365d"),
    ("sources:\n  - " + _FEED % "sweep_every: 365d1s" + "\n",
     "bad.yaml:2: sources[0].sweep_every: '365d1s' is longer than 365d"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"), TOO_LONG, ids=[message.split(": ")[1] for _, message in TOO_LONG]
)
def test_a_duration_longer_than_a_year_is_one_line_with_file_line_and_key(
    text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("bad.yaml"))
    assert str(caught.value) == message


def _duration_keys(kind: object, path: str = "") -> set[str]:
    """Every key of the config whose value is a duration, as the errors name it."""
    from typing import get_args, get_origin

    from pydantic import BaseModel

    if kind is timedelta:
        return {path.rstrip(".")}
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return {
            key
            for name, field in kind.model_fields.items()
            for key in _duration_keys(field.annotation, f"{path}{field.alias or name}.")
        }
    if get_origin(kind) is list:
        return _duration_keys(get_args(kind)[0], f"{path.rstrip('.')}[0].")
    return {key for arg in get_args(kind) for key in _duration_keys(arg, path)}


def test_every_duration_key_in_the_config_is_at_most_365d(tmp_path: Path) -> None:
    import re

    import yaml

    from watcher.config import Settings

    keys = _duration_keys(Settings)
    assert {
        "http.timeout",
        "sources[0].every",
        "sources[0].jitter",
        "sources[0].sweep_every",
        "sources[0].http.timeout",
        "email.smtp.timeout",
        "health.unhealthy_after",
    } <= keys
    for key in sorted(keys):
        data: dict[str, object] = {
            "sources": [{"name": "a", "type": "feed", "url": "https://e.org/feed"}],
            "email": {"smtp": {"host": "127.0.0.1"}, "from": "w <w@example.org>"},
        }
        parse_config(yaml.safe_dump(data), tmp_path / "w.yaml")  # valid until the key is set
        *parents, last = re.findall(r"[^.\[\]]+|\[0\]", key)
        node: object = data
        for part in parents:
            if part == "[0]":
                assert isinstance(node, list)
                node = node[0]
            else:
                assert isinstance(node, dict)
                node = node.setdefault(part, {})
        assert isinstance(node, dict)
        node[last] = "366d"
        with pytest.raises(ConfigError) as caught:
            parse_config(yaml.safe_dump(data), tmp_path / "w.yaml")
        assert str(caught.value).endswith(f": {key}: '366d' is longer than 365d"), key


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9" * 400 + "d", "is longer than 365d"),  # float infinity once parsed
        ("99999999999999999999", "99999999999999999999 is not a duration"),  # a YAML int
        ("1e400d", "'1e400d' is not a duration"),
        ("1.0e+400", "inf is not a duration"),  # a YAML float, infinite
    ],
)
def test_huge_numbers_are_clean_duration_errors(value: str, message: str) -> None:
    text = "sources:\n  - " + _FEED % f"every: {value}" + "\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("bad.yaml"))
    assert str(caught.value).startswith("bad.yaml:2: sources[0].every: ")
    assert message in str(caught.value)


def test_a_year_is_the_longest_duration() -> None:
    text = "http: {timeout: 8760h}\nsources:\n  - " + _FEED % "every: 365d" + "\n"
    config = parse_config(text, Path("w.yaml"))
    assert config.source("a").every == timedelta(days=365)
    assert config.source("a").http.timeout == timedelta(days=365)


def test_sizes_and_duration_formatting() -> None:
    assert parse_size("20MB") == 20_000_000
    assert parse_size("512KiB") == 524_288
    assert parse_size("100") == 100
    assert format_duration(timedelta(minutes=90)) == "1h30m"


def test_a_source_overrides_the_global_http_settings(tmp_path: Path) -> None:
    text = (
        "http: {min_delay: 2s, user_agent: 'global'}\n"
        "sources:\n"
        "  - {name: a, type: feed, url: 'https://e.org/feed', http: {min_delay: 10s, robots: false}}\n"
        "  - {name: b, type: feed, url: 'https://e.org/f2'}\n"
    )
    config = parse_config(text, tmp_path / "w.yaml")
    overridden = config.source("a").http
    assert (overridden.min_delay, overridden.robots, overridden.user_agent) == (
        timedelta(seconds=10),
        False,
        "global",
    )
    assert config.source("b").http == http_options(min_delay="2s", user_agent="global")


@pytest.mark.parametrize(
    ("schedule", "cron"),
    [
        ("0 8 * * 1-5", "0 8 * * mon-fri"),  # cron counts Sunday as 0
        ("0 8 * * 0", "0 8 * * sun"),
        ("0 8 * * 7", "0 8 * * sun"),
        ("30 6 * * 1,3,5", "30 6 * * mon,wed,fri"),
        ("0 */2 * * *", "0 */2 * * *"),
        ("daily 08:00", "0 8 * * *"),
        ("weekly mon 08:00", "0 8 * * mon"),
    ],
)
def test_schedules(schedule: str, cron: str) -> None:
    from watcher.config_notify import cron_expression

    assert cron_expression(schedule) == cron


def test_a_config_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"feeds:\n  title: Caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:2: the config is not UTF-8 text"


def test_only_an_explicit_base_url_is_a_public_address_of_the_pages(tmp_path: Path) -> None:
    path = tmp_path / "watcher.yaml"
    path.write_text("server: {listen: 127.0.0.1:8081}\n", encoding="utf-8")
    default = load_config(path)
    assert default.base_url == "http://127.0.0.1:8081"
    assert default.pages_url is None  # nothing links to 127.0.0.1
    path.write_text(
        "server: {listen: 127.0.0.1:8081, base_url: 'https://watch.example.org/news/'}\n",
        encoding="utf-8",
    )
    explicit = load_config(path)
    assert explicit.base_url == explicit.pages_url == "https://watch.example.org/news"
