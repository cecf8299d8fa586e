"""Topics, per-topic feeds and email, against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import pytest

from tests.helpers import (
    RUSSIA,
    SENDER,
    WATCHER,
    ShiftedClock,
    mail_settings,
    running,
    serve_in_thread,
    wordpress_source,
)
from tests.helpers import run_watcher as cli
from tests.mailserver import MailServer, part
from tests.sim.wordpress import SimWordPress
from watcher import mail
from watcher.app import App
from watcher.config import load_config
from watcher.lock import SENDING, DaemonLock, mail_lock_path
from watcher.models import ChangeEntry, ChangeKind, Channel, MessageKind, OutboxMessage
from watcher.store import Store
from watcher.store.leases import MAIL

# The store's behaviour, on SQLite and on PostgreSQL.
pytestmark = pytest.mark.databases


def settings(smtp: MailServer, **subscription: Any) -> dict[str, Any]:
    """A daily digest at 08:00 in Jakarta, unless `subscription` says otherwise."""
    return mail_settings(
        smtp.port,
        **{"mode": "digest", "schedule": "daily 08:00", "timezone": "Asia/Jakarta", **subscription},
    )


def publish_the_week(site: SimWordPress) -> dict[str, int]:
    return {
        "federation": site.add_post(
            "ASEAN and the Russian Federation hold consultations",
            "JAKARTA, 1 December 2026 -- Senior officials of ASEAN and the Russian Federation met.",
        ),
        "dialogue": site.add_post(
            "ASEAN-Russia Dialogue Partnership reviewed",
            "The ASEAN-Russia Joint Cooperation Committee reviewed 10 projects.",
        ),
        "belarus": site.add_post("Belarus delegation visits the Secretariat", "A courtesy call."),
        "rush": site.add_post("A rush of applications for the ASEAN scholarship", "Many applied."),
    }


def test_topic_feed_holds_what_concerns_russia_and_nothing_else(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer, tmp_path: Path
) -> None:
    publish_the_week(site)
    app = make_app([wordpress_source(site)], **settings(smtp))
    app.prepare()
    app.check()
    parsed = feedparser.parse(
        (tmp_path / "state" / "feeds" / "topics" / "russia.atom").read_bytes()
    )
    assert parsed.bozo == 0
    assert sorted(e.title for e in parsed.entries) == [
        "New: ASEAN and the Russian Federation hold consultations",
        "New: ASEAN-Russia Dialogue Partnership reviewed",
    ]
    members = {m.release.title: m.terms for m in app.store.topic_members("russia")}
    assert members == {
        "ASEAN and the Russian Federation hold consultations": ("Russian Federation", "Russian"),
        "ASEAN-Russia Dialogue Partnership reviewed": ("Russia", "ASEAN-Russia"),
    }
    assert smtp.received == []  # the first check of a source is its baseline: never mailed


def test_daily_digest_arrives_once_with_the_right_counts(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer, tmp_path: Path
) -> None:
    clock = ShiftedClock()
    site.add_post("An earlier statement", "Before the watcher started.")
    app = make_app([wordpress_source(site)], clock=clock, **settings(smtp))
    app.prepare()
    app.check()  # the baseline
    app.deliver(due=True)  # the subscription starts now: its first digest waits for 08:00
    assert smtp.received == []

    ids = publish_the_week(site)
    app.check()
    site.edit_post(
        ids["dialogue"],
        content="The ASEAN-Russia Joint Cooperation Committee reviewed 12 projects.",
    )
    app.check()
    app.deliver(due=True)
    assert smtp.received == []  # not 08:00 in Jakarta yet (or already sent today: not again)

    clock.advance(timedelta(days=1))
    app.deliver(due=True)
    app.deliver(due=True)
    [received] = smtp.received
    message = received.message
    local = (datetime.now(UTC) + clock.offset).astimezone(datetime.now().astimezone().tzinfo)
    assert str(message["Subject"]).startswith("[ASEAN–Russia] 2 new, 1 edited — ")
    assert message["From"] == SENDER
    assert message["To"] == "analyst@example.org"
    assert message["Message-ID"].endswith("@example.org>")
    assert parsedate_to_datetime(message["Date"]).utcoffset() == timedelta(hours=7)
    plain = part(message)
    html = part(message, "html")
    assert "ASEAN and the Russian Federation hold consultations" in plain
    summary = "1 paragraph edited; 1 figure changed: 10 → 12"
    assert (
        f"   {summary}\n   The ASEAN-Russia Joint Cooperation Committee reviewed [-10-]{{+12+}} projects."
        in plain.replace("\r\n", "\n")
    )
    assert f"<p><b>{summary}</b></p>" in html
    assert ">10</del><ins" in html and ">12</ins> projects." in html
    # the feed's entry for the edit says the same
    feed = feedparser.parse((tmp_path / "state" / "feeds" / "all.atom").read_bytes())
    [edited] = [e for e in feed.entries if e.title.startswith("Edited: ")]
    assert f"<b>{summary}</b>" in edited.content[0].value
    assert "Belarus" not in plain and "rush" not in plain
    assert received.recipients == ("analyst@example.org",)
    assert local  # the clock moved a day

    restarted = App(app.config, clock=clock)  # a restart sends nothing again
    restarted.prepare()
    restarted.deliver(due=True)
    restarted.close()
    assert len(smtp.received) == 1


def test_instant_mail_and_non_ascii_titles(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    app = make_app([wordpress_source(site)], **settings(smtp, mode="instant"))
    app.prepare()
    app.check()
    site.add_post(
        "Việt Nam and Russia meet in Hà Nội — “a new chapter” – ASEAN",
        "HA NOI -- The Russian side welcomed the talks.",
    )
    app.check()
    [received] = smtp.received
    subject = str(received.message["Subject"])
    assert (
        subject
        == "[ASEAN–Russia] New: Việt Nam and Russia meet in Hà Nội — “a new chapter” – ASEAN"
    )
    assert b"=?utf-8?" in received.raw.split(b"\r\n\r\n")[0]  # the header is encoded, not raw UTF-8
    app.check()
    assert len(smtp.received) == 1


def test_a_title_with_line_breaks_cannot_add_a_header() -> None:
    entry = ChangeEntry(
        uid="u",
        kind=ChangeKind.NEW,
        source="asean",
        release_id=1,
        url="https://asean.org/x/",
        title="Russia\r\nBcc: victim@example.org\r\nX-Injected: yes",
        detected_at=datetime(2026, 11, 30, tzinfo=UTC),
        feed_date=datetime(2026, 11, 30, tzinfo=UTC),
        published=None,
        diff="",
        html="",
        baseline=False,
        topics=("russia",),
    )
    envelope = mail.Envelope(SENDER, ("analyst@example.org",), "UTC")
    message = mail.compose_instant(
        envelope,
        topic_titles={"russia": "ASEAN–Russia"},
        entry=entry,
        now=entry.detected_at,
        message_id="<m@x>",
    )
    raw = mail.as_text(message)
    headers = raw.split("\r\n\r\n", 1)[0]
    assert "\r\nBcc:" not in headers and "\r\nX-Injected:" not in headers
    assert (
        message["Subject"] == "[ASEAN–Russia] New: Russia Bcc: victim@example.org X-Injected: yes"
    )


def test_a_refusing_server_is_retried_and_the_message_sent_once(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    clock = ShiftedClock()
    app = make_app([wordpress_source(site)], clock=clock, **settings(smtp, mode="instant"))
    app.prepare()
    app.check()
    smtp.refuse = True
    site.add_post("Russia and ASEAN sign a memorandum", "Signed today.")
    app.check()
    [waiting] = app.store.outbox()
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "451" in (waiting.last_error or "")
    smtp.refuse = False
    app.deliver()
    assert smtp.received == []  # not before its retry time
    clock.advance(timedelta(minutes=2))
    app.deliver()
    app.deliver()
    [received] = smtp.received
    assert received.message["Message-ID"] == waiting.message_id
    assert app.store.outbox()[0].status == "sent"


def test_empty_periods_are_silent_unless_asked(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    clock = ShiftedClock()
    app = make_app([wordpress_source(site)], clock=clock, **settings(smtp, send_empty=True))
    app.prepare()
    app.check()
    app.deliver(due=True)
    clock.advance(timedelta(days=1))
    app.deliver(due=True)
    [received] = smtp.received
    assert str(received.message["Subject"]).startswith("[ASEAN–Russia] nothing new — ")


def test_a_changed_topic_mails_only_what_comes_after(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    app = make_app([wordpress_source(site)], **settings(smtp, mode="instant"))
    app.prepare()
    app.check()
    site.add_post("Moscow hosts a seminar", "A seminar in Moscow.")  # not a preset term
    app.check()
    assert smtp.received == []
    broader = make_app(
        [wordpress_source(site)],
        **{
            **settings(smtp, mode="instant"),
            "topics": {"russia": {**RUSSIA["russia"], "any": ["Moscow"]}},
        },
    )
    assert broader.prepare() == {"russia": 1}  # the earlier release is in the topic now...
    broader.check()
    assert smtp.received == []  # ...but it was detected before the change: not mailed
    site.add_post("Moscow and Jakarta", "Officials from Moscow visited.")
    broader.check()
    assert [str(m["Subject"]) for m in smtp.messages()] == [
        "[ASEAN–Russia] New: Moscow and Jakarta"
    ]


def test_notifications_through_apprise_reach_a_chat_service(
    site: SimWordPress,
    make_app: Callable[..., App],
    smtp: MailServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Hook) as hook:
        serve_in_thread(hook)
        monkeypatch.setenv("RUSSIA_CHAT", f"json://127.0.0.1:{hook.server_address[1]}/hook")
        config = settings(smtp, mode="instant", notify_env=["RUSSIA_CHAT"])
        app = make_app([wordpress_source(site)], **config)
        app.prepare()
        app.check()
        site.add_post("Russia and ASEAN: a joint statement", "Adopted today.")
        app.check()
        hook.shutdown()
    [note] = received
    assert note["title"] == "[ASEAN–Russia] New: Russia and ASEAN: a joint statement"
    assert "Adopted today." in note["message"]
    assert len(smtp.received) == 1  # and the email, too


def test_a_topic_that_gains_a_term_still_owes_what_it_owed(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    clock = ShiftedClock()
    app = make_app([wordpress_source(site)], clock=clock, **settings(smtp))
    app.prepare()
    app.check()
    site.add_post("ASEAN and the Russian Federation meet", "In Jakarta.")
    app.check()  # owed to tomorrow's digest
    broader = {**settings(smtp), "topics": {"russia": {**RUSSIA["russia"], "any": ["Moscow"]}}}
    changed = make_app([wordpress_source(site)], clock=clock, **broader)
    changed.prepare()  # the topic's terms changed: matched again
    clock.advance(timedelta(days=1))
    changed.deliver(due=True)
    [received] = smtp.received
    assert "ASEAN and the Russian Federation meet" in part(received.message)


def test_a_watermark_moved_by_another_process_writes_nothing(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    app = make_app([wordpress_source(site)], **settings(smtp, mode="instant"))
    app.prepare()
    app.check()
    site.add_post("Russia and ASEAN", "Text.")
    app.mails = False  # as while a daemon mails
    app.check()
    state = app.store.subscription_state("russia-morning", app.clock())
    message = app.deliverer.preview(app.deliverer.subscription("russia-morning"))[0]
    newest = app.store.newest_change_id()
    stale = app.store.enqueue(
        "russia-morning", [message], read_watermark=state.last_change_id - 1,
        last_change_id=newest, digest_at=None, now=app.clock(),
    )  # fmt: skip
    assert not stale and app.store.outbox() == []
    assert app.store.enqueue(
        "russia-morning", [message], read_watermark=state.last_change_id,
        last_change_id=newest, digest_at=None, now=app.clock(),
    )  # fmt: skip
    assert len(app.store.outbox()) == 1


def test_a_preview_records_nothing(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    app = make_app([wordpress_source(site)], **settings(smtp))
    [message] = app.deliverer.preview(app.deliverer.subscription("russia-morning"))
    assert "nothing new" in message.subject
    with app.store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM subscription_state").scalar() == 0


def test_a_topic_removed_and_added_again_is_matched_again(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    app = make_app([wordpress_source(site)], **settings(smtp))
    app.prepare()
    without = make_app(
        [wordpress_source(site)], **{**settings(smtp), "topics": {}, "subscriptions": []}
    )
    without.prepare()
    site.add_post("Russia and ASEAN", "Text.")
    without.check()
    again = make_app([wordpress_source(site)], **settings(smtp))
    again.prepare()
    assert [m.release.title for m in again.store.topic_members("russia")] == ["Russia and ASEAN"]


@pytest.mark.slow
def test_a_message_given_up_on_is_listed_and_sent_when_asked_with_its_message_id(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer, tmp_path: Path
) -> None:
    clock = ShiftedClock()
    app = make_app([wordpress_source(site)], clock=clock, **settings(smtp, mode="instant"))
    app.prepare()
    app.check()
    smtp.refuse = True  # a mail server down for the whole weekend
    site.add_post("Russia and ASEAN sign a memorandum", "Signed today.")
    app.check()
    for _ in range(20):
        clock.advance(timedelta(hours=6))
        app.deliver()
    [given_up] = app.store.outbox()
    assert (given_up.status, given_up.attempts) == ("failed", 12)
    app.close()

    listed = cli("outbox", "list", config=tmp_path / "watcher.yaml")
    assert listed.returncode == 0, listed.stderr
    [header, row] = listed.stdout.splitlines()
    assert row.split()[:5] == [str(given_up.id), "russia-morning", "instant", "failed", "12"]
    assert "451" in row

    smtp.refuse = False
    retried = cli("outbox", "retry", "russia-morning", config=tmp_path / "watcher.yaml")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.splitlines() == ["1 message(s) to try again", "sent 1, failed 0"]
    [received] = smtp.received
    assert received.message["Message-ID"] == given_up.message_id
    again = cli("outbox", "retry", config=tmp_path / "watcher.yaml")
    assert again.stdout.splitlines() == ["0 message(s) to try again", "sent 0, failed 0"]
    [only_the_header] = cli("outbox", "list", config=tmp_path / "watcher.yaml").stdout.splitlines()
    assert only_the_header.split() == header.split()


@pytest.mark.slow
def test_commands_that_mail_take_turns(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer, tmp_path: Path
) -> None:
    """While another process sends this database's mail, `watcher check` waits for it rather
    than sending the same messages."""
    app = make_app([wordpress_source(site)], **settings(smtp, mode="instant"))
    app.prepare()
    app.check()
    app.close()
    site.add_post("Russia and ASEAN sign a memorandum", "Signed today.")
    command = [*WATCHER, "--config", str(tmp_path / "watcher.yaml"), "check"]
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as check:
        with another_process_sending(tmp_path / "watcher.yaml"):
            feed = tmp_path / "state" / "feeds" / "topics" / "russia.atom"
            deadline = time.monotonic() + 60
            while b"memorandum" not in (feed.read_bytes() if feed.exists() else b""):
                assert time.monotonic() < deadline and check.poll() is None
                time.sleep(0.2)
            time.sleep(1.5)  # checked, feeds written: now it waits for the mail
            assert smtp.received == []
            assert check.poll() is None
        _, stderr = check.communicate(timeout=60)
    assert check.returncode == 0, stderr
    [received] = smtp.received
    assert "memorandum" in str(received.message["Subject"])


@contextmanager
def another_process_sending(config_path: Path) -> Iterator[None]:
    """The right to send the database's mail, held by another process: the lock file beside a
    SQLite database, the mail's lease in a PostgreSQL one."""
    config = load_config(config_path)
    store = Store.open(config.database_url)
    leases = store.leases("another watcher", timedelta(minutes=1))
    sending = DaemonLock(mail_lock_path(config), SENDING)
    try:
        if leases is None:
            sending.acquire()
        else:
            assert leases.claim(MAIL) is not None
        yield
    finally:
        sending.release()
        if leases is not None:
            leases.release(MAIL)
        store.close()


@pytest.mark.slow
def test_retrying_an_unknown_subscription_says_which_there_are(
    smtp: MailServer, tmp_path: Path, make_app: Callable[..., App], site: SimWordPress
) -> None:
    make_app([wordpress_source(site)], **settings(smtp))
    result = cli("outbox", "retry", "russia-evening", config=tmp_path / "watcher.yaml")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{tmp_path / 'watcher.yaml'}: no subscription named 'russia-evening' "
        "(subscriptions: russia-morning)"
    )


def test_a_backlog_longer_than_a_batch_goes_out_in_one_delivery(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    app = make_app([wordpress_source(site)], **settings(smtp, mode="instant"))
    app.prepare()
    sent: list[str] = []

    def notifier(_url: str, title: str, _body: str) -> bool:
        sent.append(title)
        return True

    app.deliverer.notifier = notifier
    now = app.clock()
    backlog = [
        OutboxMessage(
            "russia-morning",
            Channel.NOTIFY,
            f"<{n}@x>",
            MessageKind.INSTANT,
            (),
            ("CHAT",),
            f"n{n}",
            "text",
        )
        for n in range(250)  # more than the 100 a batch holds
    ]
    assert app.store.enqueue(
        "russia-morning", backlog, read_watermark=0, last_change_id=0, digest_at=None, now=now
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHAT", "json://127.0.0.1:9/unused")  # the notifier above answers instead
        assert app.deliverer.deliver() == (250, 0)
    assert sent == [f"n{n}" for n in range(250)]


def test_with_a_public_base_url_mail_links_each_release_history(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer
) -> None:
    app = make_app(
        [wordpress_source(site)],
        **settings(smtp, mode="instant"),
        server={"base_url": "https://watch.example.org/"},
    )
    app.prepare()
    app.check()
    post = site.add_post("ASEAN-Russia Dialogue Partnership reviewed", "It reviewed 10 projects.")
    app.check()
    site.edit_post(post, content="It reviewed 12 projects.")
    app.check()
    [new, edited] = smtp.received
    [release_id] = {entry.release_id for entry in app.store.recent_changes(10)}
    history = f"https://watch.example.org/releases/{release_id}"
    for received in (new, edited):
        assert f"   History and diff: {history}" in part(received.message)
        assert f'History and diff: <a href="{history}">' in part(received.message, "html")
    assert "reviewed [-10-]{+12+} projects" in part(edited.message)


def test_without_base_url_mail_links_nothing_on_this_machine(
    site: SimWordPress, make_app: Callable[..., App], smtp: MailServer, tmp_path: Path
) -> None:
    app = make_app(
        [wordpress_source(site)], **settings(smtp, mode="instant"), server={"base_url": None}
    )
    app.prepare()
    app.check()
    site.add_post("ASEAN-Russia Dialogue Partnership reviewed", "It reviewed 10 projects.")
    app.check()
    [received] = smtp.received
    for text in (part(received.message), part(received.message, "html")):
        assert "ASEAN-Russia Dialogue Partnership reviewed" in text
        assert "History and diff" not in text and "/releases/" not in text
    feed = (tmp_path / "state" / "feeds" / "all.atom").read_text()
    assert "Dialogue Partnership" in feed and "/releases/" not in feed


@pytest.mark.parametrize("pages_url", ["https://watch.example.org", None])
def test_a_digest_links_each_change_to_its_history_only_at_a_public_address(
    pages_url: str | None,
) -> None:
    entries = [
        ChangeEntry(
            uid=f"u{number}",
            kind=ChangeKind.NEW,
            source="asean",
            release_id=number,
            url=f"https://asean.org/{number}/",
            title=f"Russia release {number}",
            detected_at=datetime(2026, 11, 30, tzinfo=UTC),
            feed_date=datetime(2026, 11, 30, tzinfo=UTC),
            published=None,
            diff="",
            html="",
            baseline=False,
            topics=("russia",),
        )
        for number in (3, 4)
    ]
    message = mail.compose_digest(
        mail.Envelope(SENDER, ("analyst@example.org",), "UTC"),
        topic_titles={"russia": "ASEAN–Russia"},
        entries=entries,
        since=None,
        now=datetime(2026, 12, 1, tzinfo=UTC),
        message_id="<m@x>",
        pages_url=pages_url,
    )
    plain, html = part(message), part(message, "html")
    if pages_url is None:
        assert "History and diff" not in plain + html
        return
    for number in (3, 4):
        history = f"https://watch.example.org/releases/{number}"
        assert f"   History and diff: {history}\n" in plain.replace("\r\n", "\n")
        assert f'<p>History and diff: <a href="{history}">{history}</a></p>' in html
