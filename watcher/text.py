"""Text normalisation: what counts as the same words.

Display text keeps the site's typography; the comparison form folds what WordPress and editors
rewrite without changing meaning (curly quotes, dashes, ellipses, non-breaking and zero-width
spaces), so that such rewrites are never reported as edits.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from watcher.models import Attachment
from watcher.urls import canonical_url

_SPACES = re.compile(r"[ \t\n\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
# control characters (never text) and invisible ones (soft hyphens, zero-width spaces, BOMs)
_DROPPED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u200b-\u200d\u2060\ufeff]")
# A lone surrogate is half a character: JSON can spell one ("\\ud800"), and lxml silently drops
# everything after it, so it becomes U+FFFD, as undecodable bytes do.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# the same, or a code point past U+10FFFF, as a character reference: feedparser cannot even
# decode one (it raises), the whole feed with it
_UNREADABLE_REFERENCE = re.compile(
    # hex: D800-DFFF, then over 10FFFF
    rb"&#(?:[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}"
    rb"|1[1-9a-fA-F][0-9a-fA-F]{4}|[2-9a-fA-F][0-9a-fA-F]{5}|[1-9a-fA-F][0-9a-fA-F]{6,})"
    # decimal: 55296-57343, then over 1114111
    rb"|0*(?:5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}|573[0-3][0-9]|5734[0-3]"
    rb"|111411[2-9]|11141[2-9][0-9]|1114[2-9][0-9]{2}|111[5-9][0-9]{3}|11[2-9][0-9]{4}"
    rb"|1[2-9][0-9]{5}|[2-9][0-9]{6}|[1-9][0-9]{7,}));"
)
_FOLD = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u00b4": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u00d7": "x",
}
_FOLDED = re.compile("[" + "".join(_FOLD) + "]")
_DASH = re.compile(r" ?-+ ?")


def replace_lone_surrogates(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text


def replace_unreadable_references(markup: bytes) -> bytes:
    return _UNREADABLE_REFERENCE.sub(b"&#xFFFD;", markup) if b"&#" in markup else markup


def clean_line(text: str) -> str:
    """One line of display text: no control or invisible characters, single spaces."""
    text = _DROPPED.sub("", text)
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


PARAGRAPH_BREAK = "\x1e"  # between blocks (p, li, h2...): a blank line in the text
LINE_BREAK = "\x1f"  # a <br>: a new line inside the paragraph
_DROPPED_BUT_MARKERS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1d\x7f\u00ad\u200b-\u200d\u2060\ufeff]"
)


def join_marked(marked: str) -> str:
    """Text with break markers -> paragraphs separated by one blank line; every other run of
    whitespace, newlines of the HTML source included, is one space."""
    # clean_line's work, done once for the whole text: the markers are neither dropped nor
    # composed with anything by NFC, so splitting after is the same as cleaning each line
    marked = unicodedata.normalize("NFC", _DROPPED_BUT_MARKERS.sub("", marked))
    paragraphs = []
    for block in marked.split(PARAGRAPH_BREAK):
        lines = (_SPACES.sub(" ", line).strip() for line in block.split(LINE_BREAK))
        joined = "\n".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)


# A release's title and text are folded for its hash, then again for its topics and its search
# words: the last few results are kept (a handful, since a PDF's text may be a megabyte).
@lru_cache(maxsize=8)
def fold(text: str) -> str:
    """The comparison form: typography folded, all whitespace runs one space."""
    # str.translate walks a dict per character; the few characters to fold are rare, so a
    # regular expression finds them far faster
    folded = _FOLDED.sub(lambda m: _FOLD[m.group()], unicodedata.normalize("NFKC", text))
    folded = _INVISIBLE.sub("", folded)
    # "ASEAN - Russia", "ASEAN – Russia", "ASEAN-Russia"; "--" is what WordPress turns into a dash
    # (whitespace runs made single spaces first, which makes the dash rule cheaper to apply:
    # the same result as folding the dashes' spaces first, checked in the tests)
    return _DASH.sub("-", " ".join(folded.split()))


def content_hash(title: str, text: str, attachments: Iterable[Attachment]) -> str:
    """Identical for two readings that differ only in typography, whitespace or markup."""
    digest = hashlib.sha256()
    digest.update(fold(title).encode())
    digest.update(b"\x00")
    digest.update(fold(text).encode())
    for attachment in attachments:
        digest.update(b"\x00")
        digest.update(canonical_url(attachment.url).encode())
    return digest.hexdigest()[:32]
