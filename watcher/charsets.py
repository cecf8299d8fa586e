"""Bytes to text as a browser reads them: a BOM, then the Content-Type charset, then a <meta>
charset (WHATWG's prescan rules), else UTF-8; what still cannot be decoded becomes U+FFFD,
never a page read wrong from its first byte to its last."""

from __future__ import annotations

import codecs
import re
from functools import cache

from watcher.text import replace_lone_surrogates, replace_unreadable_references

# Python codecs that are no web page's charset (no browser reads a page with them); some
# would even make half characters out of plain ASCII ("+2AA-" in UTF-7)
_NOT_CHARSETS = frozenset(
    {"utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined"}
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
# what a charset must read as itself for a <meta> written in ASCII to name it
_ASCII_PROBE = bytes(range(0x09, 0x0E)) + bytes(range(0x20, 0x7F))
_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([-\w.:]+)""")


def decode(body: bytes, encoding: str | None) -> str:
    return replace_lone_surrogates(_decode(body, encoding))


def feed_bytes(body: bytes, encoding: str | None) -> bytes:
    """A feed as feedparser can read it whole. It reads a feed with one byte sequence that is
    not UTF-8 as Windows-1252 from the first byte to the last, garbling every other item (and
    reporting it edited): here only the bad bytes become U+FFFD. A feed in another declared
    charset, or with a UTF-16 byte order mark, is left to feedparser."""
    body = replace_unreadable_references(body)
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body
    declared = encoding
    if not declared:
        match = _XML_ENCODING.match(body)
        declared = match.group(1).decode("ascii", "replace") if match else None
    if _codec(declared) != "utf-8":
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("utf-8", errors="replace").encode("utf-8")
    return body


def _decode(body: bytes, encoding: str | None) -> str:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, errors="replace")
    if encoding:
        codec = _codec(encoding)
    else:
        match = _META_CHARSET.search(body[:4096])
        codec = _meta_codec(match.group(1).decode("ascii", "replace")) if match else "utf-8"
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        pass
    if codec == "utf-8":
        if not _UTF8_SEQUENCE.search(body):
            # no UTF-8 in it at all: a Windows-1252 page served as UTF-8
            return body.decode("cp1252", errors="replace")
        # Windows-1252 pasted into a UTF-8 page: Beautiful Soup's UnicodeDammit untangles it,
        # rather than losing every such character.
        from bs4 import UnicodeDammit  # noqa: PLC0415  (a rare path; bs4 is slow to import)

        body = UnicodeDammit.detwingle(body)
    return body.decode(codec, errors="replace")


def _codec(name: str | None) -> str:
    if not name:
        return "utf-8"
    try:
        info = codecs.lookup(name)
    except LookupError:
        return "utf-8"
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return "utf-8"
    codec = info.name
    # WHATWG: a page labelled Latin-1 or ASCII is read as Windows-1252.
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def _meta_codec(name: str) -> str:
    """The charset a <meta> names, as browsers take it (WHATWG prescan): bytes in which the
    <meta> reads as ASCII are no UTF-16, so UTF-16 means UTF-8; a charset in which ASCII is not
    ASCII (UTF-32, EBCDIC's cp037) is ignored. Read as named, an ASCII page would be all CJK
    characters or U+FFFD."""
    codec = _codec(name)
    return codec if _reads_ascii(codec) else "utf-8"


@cache
def _reads_ascii(codec: str) -> bool:
    try:
        return _ASCII_PROBE.decode(codec) == _ASCII_PROBE.decode("ascii")
    except UnicodeDecodeError:
        return False
