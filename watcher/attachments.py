"""Attachments: the PDFs a release links to from its content region, fetched and read as text.

The bytes come through fetch.py like a page's (the same politeness, host rules, robots.txt and
conditional requests), under a cap of their own (`MAX_BYTES`). Their text is extracted by pypdf
in a child process with a time limit, a CPU limit and a memory limit: a PDF is a program of
sorts, and a hostile or broken one may loop, or inflate a stream to gigabytes. The child is
killed at the limit and the attachment's reading is a failure, never the check's.

Every outcome of one attachment's reading is a value (`Fresh`, `Same`, `Failed`); nothing here
raises but `Interrupted` (the process is stopping).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

from watcher.errors import FetchError, Interrupted
from watcher.fetch import FetchSession
from watcher.models import Gone, NotModified, Validators
from watcher.text import clean_line

MAX_BYTES = 20 * 1024 * 1024  # an attachment's size cap (pages have `http.max_bytes`)
MAX_PAGES = 300  # pages read from one PDF: the text of the first ones
MAX_CHARS = 1_000_000  # text kept from one attachment
EXTRACT_TIME = timedelta(seconds=30)  # wall clock for one extraction, the child's CPU alike
EXTRACT_MEMORY = 1024 * 1024 * 1024  # the child's address space
_READABLE = re.compile(r"\.pdf$", re.IGNORECASE)
_PDF_MAGIC = b"%PDF-"
_KNOWN_TEXTS = 64  # texts of the latest bytes read, by hash: one PDF linked from many releases


def readable(url: str) -> bool:
    """Whether the text of the document at `url` is read (a PDF, by its name)."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    return bool(_READABLE.search(path))


@dataclass(frozen=True, slots=True)
class Fresh:
    """The document's bytes are new to us: their text, and the validators to ask with next."""

    text: str
    validators: Validators


@dataclass(frozen=True, slots=True)
class Same:
    """Not modified (304), or the very bytes read before: the text is the one stored."""

    validators: Validators | None


@dataclass(frozen=True, slots=True)
class Failed:
    """The document could not be read (gone, too large, broken, encrypted...): the text stored
    before, if any, stays the attachment's text."""

    reason: str


Reading = Fresh | Same | Failed


def read(session: FetchSession, url: str, previous: Validators | None) -> Reading:
    """One attachment, asked for conditionally with `previous` (the validators of the bytes
    whose text is stored; None to ask for it whole)."""
    try:
        result = session.get(url, validators=previous, accept="application/pdf, */*;q=0.5")
    except Interrupted:
        raise
    except FetchError as exc:
        return Failed(str(exc))
    if isinstance(result, NotModified):
        return Same(previous)
    if isinstance(result, Gone):
        return Failed(f"HTTP {result.status}: {url}")
    if result.unchanged_since(previous):
        return Same(result.validators)
    if not result.body.lstrip()[:1024].startswith(_PDF_MAGIC):
        kind = result.content_type or "no content type"
        return Failed(f"not a PDF ({kind}): {url}")
    try:
        text = _texts.text(result.validators.body_hash or "", result.body)
    except ValueError as exc:
        return Failed(f"{exc}: {url}")
    return Fresh(text, result.validators)


class _Texts:
    """The texts of the last PDFs read, by the hash of their bytes: a PDF linked from several
    releases (or read again whole) is not extracted again. Failures are not kept."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.texts: OrderedDict[str, str] = OrderedDict()

    def text(self, body_hash: str, data: bytes) -> str:
        with self.lock:
            if body_hash in self.texts:
                self.texts.move_to_end(body_hash)
                return self.texts[body_hash]
        text = extract_text(data)
        with self.lock:
            self.texts[body_hash] = text
            while len(self.texts) > _KNOWN_TEXTS:
                self.texts.popitem(last=False)
        return text


_texts = _Texts()


def extract_text(data: bytes, *, limit: timedelta = EXTRACT_TIME) -> str:
    """The text of a PDF, read in a child process under time and memory limits; a ValueError
    with a one-line reason when it cannot be read."""
    seconds = limit.total_seconds()
    command = [sys.executable, "-I", "-m", "watcher.attachments", str(int(seconds) + 1)]
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=seconds, check=False
        )
    except subprocess.TimeoutExpired:
        raise ValueError(f"text not extracted within {seconds:g} s") from None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        # killed by a limit (CPU, memory) before it could answer
        raise ValueError(f"text extraction stopped (exit status {done.returncode})") from None
    if "error" in answer:
        raise ValueError(str(answer["error"]))
    return str(answer["text"])


def pdf_text(data: bytes) -> str:
    """The text of a PDF, in this process: each page's lines, pages apart by a blank line.

    An encrypted PDF is read when it opens with an empty password (only its permissions are
    restricted, as often), else it is a ValueError."""
    from pypdf import PdfReader  # noqa: PLC0415 (imported by the child only)

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("encrypted PDF (a password is needed to read it)")
    pages = []
    size = 0
    for number, page in enumerate(reader.pages):
        if number >= MAX_PAGES or size > MAX_CHARS:
            break
        lines = (clean_line(line) for line in (page.extract_text() or "").splitlines())
        text = "\n".join(line for line in lines if line)
        if text:
            pages.append(text)
            size += len(text)
    return "\n\n".join(pages)[:MAX_CHARS]


def _child(cpu_seconds: int) -> None:
    """`python -m watcher.attachments SECONDS`: a PDF on stdin, {"text"} or {"error"} out."""
    import resource  # noqa: PLC0415 (POSIX only, and only the child needs it)

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (EXTRACT_MEMORY, EXTRACT_MEMORY))
    data = sys.stdin.buffer.read()
    try:
        answer = {"text": pdf_text(data)}
    except ValueError as exc:
        answer = {"error": str(exc)}
    except Exception as exc:  # any failure of a broken PDF is the document's, reported as such
        reason = str(exc).splitlines()[0][:160] if str(exc) else ""
        answer = {"error": f"unreadable PDF ({type(exc).__name__}{': ' if reason else ''}{reason})"}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    _child(int(sys.argv[1]))
