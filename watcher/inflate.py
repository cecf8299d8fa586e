"""A response body's Content-Encoding undone (gzip, deflate), never past the room the size
cap leaves: a few kilobytes on the wire that would inflate to gigabytes stop at the cap, in
memory too. fetch.py inflates bodies itself (it asks for no other encodings) for that."""

from __future__ import annotations

import zlib

from watcher.errors import FetchNetworkError


class Inflater:
    """gzip or deflate, inflated never past the room left: a bomb stops at the cap."""

    def __init__(self, url: str, wbits: int, raw_fallback: bool) -> None:
        self.url = url
        self.raw_fallback = raw_fallback  # "deflate" is zlib-wrapped, or raw from some servers
        self.inflater = zlib.decompressobj(wbits)
        self.started = False

    @classmethod
    def for_encoding(cls, url: str, encoding: str) -> Inflater | None:
        if encoding in ("", "identity"):
            return None
        if encoding in ("gzip", "x-gzip"):
            return cls(url, 16 + zlib.MAX_WBITS, raw_fallback=False)
        if encoding == "deflate":
            return cls(url, zlib.MAX_WBITS, raw_fallback=True)
        # stacked or unasked encodings ("gzip, gzip", "br"): never inflated blind
        raise FetchNetworkError(url, f"unsupported Content-Encoding {encoding!r}")

    def inflate(self, data: bytes, room: int) -> bytes:
        try:
            out = self.inflater.decompress(data, max(room, 1))
        except zlib.error as exc:
            if self.raw_fallback and not self.started:
                self.raw_fallback = False
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.inflate(data, room)
            raise FetchNetworkError(self.url, "undecodable compressed body") from exc
        self.started = True
        return out

    @property
    def has_more(self) -> bool:
        """Input left over that did not fit: the body is over the cap."""
        return bool(self.inflater.unconsumed_tail)

    @property
    def complete(self) -> bool:
        return bool(self.inflater.eof)
