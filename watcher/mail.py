"""Email: composing (pure) and sending (SMTP), kept apart.

Whatever a page contains, it cannot add a header or break a subject line: every header value is
one line, and the message is built by the standard library's email package with its SMTP
policy (which also encodes non-ASCII headers as RFC 2047 words).
"""

from __future__ import annotations

import html
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from watcher import copies_told
from watcher.errors import WatcherError
from watcher.models import ChangeEntry, ChangeKind, HealthEvent, HealthKind
from watcher.options import SmtpOptions, SmtpSecurity
from watcher.render import change_diff, edit_html, edit_text, opening
from watcher.urls import history_url, web_url

_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")
_LABEL = {
    ChangeKind.NEW: "New",
    ChangeKind.EDITED: "Edited",
    ChangeKind.REMOVED: "Removed",
    ChangeKind.RESTORED: "Restored",
    ChangeKind.ALSO_PUBLISHED: "Also published",
    ChangeKind.DIVERGED: "Diverged",
}


class MailError(WatcherError):
    """Sending failed; the message stays in the outbox and is tried again."""


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str  # "ASEAN watcher <watcher@example.org>"
    recipients: tuple[str, ...]
    timezone: str


def header_text(value: str) -> str:
    """One line, whatever it was: no CR, LF or other line breaks can reach a header."""
    return " ".join(_LINE_BREAKS.sub(" ", value).split())


def new_message_id(sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "watcher.invalid"
    return make_msgid(domain=domain)


def digest_subject(titles: Sequence[str], entries: Sequence[ChangeEntry], day: datetime) -> str:
    """'[ASEAN–Russia] 3 new, 1 edited — 30 Nov 2026'."""
    counts = _counts(entries)
    summary = (
        ", ".join(f"{n} {kind.value.replace('_', ' ')}" for kind, n in counts.items() if n)
        or "nothing new"
    )
    return header_text(f"[{', '.join(titles)}] {summary} — {day.day} {day:%b %Y}")


def compose_digest(
    envelope: Envelope,
    *,
    topic_titles: Mapping[str, str],
    entries: Sequence[ChangeEntry],
    since: datetime | None,
    now: datetime,
    message_id: str,
    pages_url: str | None = None,
) -> EmailMessage:
    """One message for a period: changes grouped by topic (a change in two topics is under
    both), each with its title, date, link, opening lines, and for edits the changed words;
    with `pages_url` (the web pages' public address) also a link to the release's history."""
    zone = ZoneInfo(envelope.timezone)
    local_now = now.astimezone(zone)
    subject = digest_subject(list(topic_titles.values()), entries, local_now)
    period = f"since {since.astimezone(zone):%d %b %Y %H:%M} ({envelope.timezone})" if since else ""
    text = [f"{subject}", period, ""]
    parts = [f"<h1>{html.escape(subject)}</h1>", f"<p>{html.escape(period)}</p>" if period else ""]
    for topic, title in topic_titles.items():
        in_topic = [e for e in entries if topic in e.topics]
        if not in_topic:
            continue
        text += [f"== {title} ==", ""]
        parts.append(f"<h2>{html.escape(title)}</h2>")
        for entry, copies in _stories(in_topic):
            text += _entry_text(entry, zone, pages_url)
            parts.append(_entry_html(entry, zone, pages_url))
            for copy in copies:  # one story, several links
                text += ["   " + line for line in copies_told.lines(copy)]
                parts.append(f"<blockquote>{copies_told.html_lines(copy)}</blockquote>")
            text.append("")
    if not entries:
        text.append("No new, edited or removed releases in this period.")
        parts.append("<p>No new, edited or removed releases in this period.</p>")
    return _message(envelope, subject, "\n".join(text), "".join(parts), now, message_id)


def compose_instant(
    envelope: Envelope,
    *,
    topic_titles: Mapping[str, str],
    entry: ChangeEntry,
    now: datetime,
    message_id: str,
    pages_url: str | None = None,
) -> EmailMessage:
    zone = ZoneInfo(envelope.timezone)
    titles = [topic_titles[t] for t in entry.topics if t in topic_titles]
    prefix = f"[{', '.join(titles)}] " if titles else ""
    subject = header_text(f"{prefix}{_LABEL[entry.kind]}: {entry.title or entry.url}")
    text = "\n".join(_entry_text(entry, zone, pages_url))
    body = _entry_html(entry, zone, pages_url)
    message = _message(envelope, subject, text, body, now, message_id)
    message["X-Watcher-Change"] = entry.uid  # one change, whatever its subject says
    return message


def compose_health(envelope: Envelope, *, event: HealthEvent, message_id: str) -> EmailMessage:
    label = "is unhealthy" if event.kind == HealthKind.UNHEALTHY else "has recovered"
    subject = header_text(f"[watcher] source {event.source} {label}")
    text = f"{subject}\n\n{event.message}\n"
    return _message(
        envelope, subject, text, f"<p>{html.escape(event.message)}</p>", event.at, message_id
    )


def send(
    raw: str,
    envelope_from: str,
    recipients: Sequence[str],
    smtp: SmtpOptions,
    password: str | None,
) -> None:
    """Hand one message, exactly as stored, to the SMTP server. Raises MailError."""
    timeout = smtp.timeout.total_seconds()
    try:
        if smtp.security == SmtpSecurity.SSL:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.security == SmtpSecurity.STARTTLS:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, password or "")
            client.sendmail(parseaddr(envelope_from)[1], list(recipients), raw.encode("utf-8"))
    except (OSError, smtplib.SMTPException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MailError(f"SMTP {smtp.host}:{smtp.port}: {reason}") from exc


def as_text(message: EmailMessage) -> str:
    """The message as it is stored in the outbox and sent, CRLF line ends included."""
    return message.as_string(policy=policy.SMTP)


def _message(
    envelope: Envelope, subject: str, text: str, html_body: str, now: datetime, message_id: str
) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = header_text(envelope.sender)
    message["To"] = ", ".join(header_text(r) for r in envelope.recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(ZoneInfo(envelope.timezone)))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(text + "\n")
    page = (
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        f'<body style="font-family:sans-serif;max-width:46em">{html_body}</body></html>'
    )
    message.add_alternative(page, subtype="html")
    return message


def _stories(
    entries: Sequence[ChangeEntry],
) -> list[tuple[ChangeEntry, list[ChangeEntry]]]:
    """Each entry with the "Also published" of its story in the same period listed under it (an
    original met after its copy, under the copy's entry); one whose story has no other entry in
    the period stands on its own."""
    shown = {e.url: e for e in entries if e.kind != ChangeKind.ALSO_PUBLISHED}
    under: dict[str, list[ChangeEntry]] = {}
    alone = []
    for entry in entries:
        if entry.kind != ChangeKind.ALSO_PUBLISHED:
            continue
        note = entry.note
        story = [ref.url for ref in (note.origin, note.copy) if ref] if note else []
        told = next((url for url in story if url in shown), None)
        if told is None:
            alone.append(entry)
        else:
            under.setdefault(told, []).append(entry)
    grouped = []
    for entry in entries:
        if entry.kind != ChangeKind.ALSO_PUBLISHED:
            grouped.append((entry, under.pop(entry.url, [])))
        elif any(entry is a for a in alone):
            grouped.append((entry, []))
    return grouped


def _counts(entries: Sequence[ChangeEntry]) -> dict[ChangeKind, int]:
    counts = dict.fromkeys(ChangeKind, 0)
    for entry in entries:
        counts[entry.kind] += 1
    return counts


def _entry_text(entry: ChangeEntry, zone: ZoneInfo, pages_url: str | None) -> list[str]:
    lines = [f"{_LABEL[entry.kind].upper()}: {header_text(entry.title) or entry.url}"]
    when = f"published {entry.published.astimezone(zone):%d %b %Y}" if entry.published else ""
    lines.append("   " + " · ".join(part for part in (when, entry.url) if part))
    if entry.kind in (ChangeKind.EDITED, ChangeKind.DIVERGED):
        lines.extend("   " + line for line in copies_told.lines(entry))
        edit = change_diff(entry)
        if edit is not None:
            # a PDF's paragraph keeps its line breaks: each line indented like the others
            lines.extend("   " + line for text in edit_text(edit) for line in text.split("\n"))
    elif entry.kind == ChangeKind.ALSO_PUBLISHED:
        lines.extend("   " + line for line in copies_told.lines(entry))
    elif entry.kind in (ChangeKind.NEW, ChangeKind.RESTORED) and entry.text:
        lines.append("   " + opening(entry.text))
    elif entry.kind == ChangeKind.REMOVED:
        lines.append("   no longer on the site; every version is kept")
    history = history_url(pages_url, entry.related_id or entry.release_id)
    if history:
        lines.append(f"   History and diff: {history}")
    return lines


def _entry_html(entry: ChangeEntry, zone: ZoneInfo, pages_url: str | None) -> str:
    history = history_url(pages_url, entry.related_id or entry.release_id)
    link = ""
    if history:
        href = html.escape(history)
        link = f'<p>History and diff: <a href="{href}">{href}</a></p>'
    return _change_html(entry, zone) + link


def _change_html(entry: ChangeEntry, zone: ZoneInfo) -> str:
    when = f"published {entry.published.astimezone(zone):%d %b %Y} · " if entry.published else ""
    href = html.escape(web_url(entry.url))
    link = f'<a href="{href}">{html.escape(entry.title or entry.url)}</a>'
    details = html.escape(when + entry.url)
    head = f"<h3>{_LABEL[entry.kind]}: {link}</h3><p><small>{details}</small></p>"
    if entry.kind in (ChangeKind.EDITED, ChangeKind.DIVERGED):
        edit = change_diff(entry)
        told = copies_told.html_lines(entry)
        return head + told + (edit_html(edit) if edit is not None else "")
    if entry.kind == ChangeKind.ALSO_PUBLISHED:
        return head + copies_told.html_lines(entry)
    if entry.kind == ChangeKind.REMOVED:
        return head + "<p>No longer on the site; every version is kept.</p>"
    return head + (f"<p>{html.escape(opening(entry.text))}</p>" if entry.text else "")
