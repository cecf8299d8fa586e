"""Release identity from URLs: the same release whatever scheme, `www.` or trailing slash."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

_TRACKING_PREFIXES = ("utm_", "fbclid", "gclid", "mc_")


def release_key(url: str, wp_id: int | None) -> str:
    """A release's identity within its source: the WordPress post id when known (a changed
    slug is the same release), else the canonical URL."""
    return f"wp:{wp_id}" if wp_id is not None else canonical_url(url)


# Large enough for every page of a large archive: a check asks again for the URLs of the
# previous check in the same order, the one pattern where a smaller LRU cache never hits.
@lru_cache(maxsize=65536)
def canonical_url(url: str) -> str:
    """'https://www.asean.org/slug/' and 'http://asean.org/slug' -> 'asean.org/slug'."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port_number = parts.port
    except ValueError:  # a malformed port: keep what was written rather than fail
        port_number = None
    port = f":{port_number}" if port_number and port_number != default_port else ""
    path = parts.path.rstrip("/")
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    )
    return f"{host}{port}{path}" + (f"?{query}" if query else "")


@lru_cache(maxsize=65536)
def host_key(url: str) -> str:
    """A host as `follow_hosts` names it: lower case, without `www.`, with its port only where
    it is not the scheme's default (http and https of one host are the same site)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        return host
    if port is None or port == {"http": 80, "https": 443}.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def without_password(url: str) -> str:
    """A database URL as it may be shown: `postgresql://watcher:***@db/watcher`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def _tracking(name: str) -> bool:
    return name.lower().startswith(_TRACKING_PREFIXES)


def history_url(pages_url: str | None, release_id: int) -> str | None:
    """A release's page (every version, the diffs), when the pages have a public address."""
    return f"{pages_url}/releases/{release_id}" if pages_url else None


def is_web_url(url: str) -> bool:
    """http(s) only: a release's link is followed by readers, so never javascript: or data:."""
    return urlsplit(url.strip()).scheme.lower() in ("http", "https")


def web_url(url: str) -> str:
    """The URL to put in a link: itself if http(s), else nothing to follow."""
    return url if is_web_url(url) else "about:blank"


def absolute(base: str, href: str) -> str:
    """`href` resolved against `base`; a link too malformed to resolve is kept as written."""
    try:
        return urljoin(base, href.strip())
    except ValueError:
        return href.strip()


def same_site(a: str, b: str) -> bool:
    host_a = (urlsplit(a).hostname or "").removeprefix("www.")
    host_b = (urlsplit(b).hostname or "").removeprefix("www.")
    return host_a == host_b


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
