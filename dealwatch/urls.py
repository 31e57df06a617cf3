"""URLs as dealwatch keeps them, and the address guard in front of every article fetch.

- `canonical_url` gives one spelling per article link, so that the same story seen through two feeds, or
  with tracking parameters, is stored and fetched once.
- `check_article_url` (and its async twin) refuses links that would make dealwatch a proxy into the
  machine's own network (SSRF): a feed is written by someone else, and its links may point anywhere.

No network I/O here except name resolution in the guard.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import socket
from collections.abc import Iterable
from types import MappingProxyType
from urllib.parse import SplitResult, parse_qs, quote, unquote_plus, urljoin, urlsplit, urlunsplit

__all__ = ["UnsafeURL", "canonical_url", "check_article_url", "acheck_article_url", "is_public_address",
           "is_trusted_host", "resolve_public", "TRACKING_PARAMS", "host_of", "publisher_url", "google_news_id",
           "decode_google_news_id", "GOOGLE_NEWS_HOST"]

DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say where a click came from; compared case-insensitively.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "li_fat_id", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "hsctatracking", "mkt_tok",
    "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "rb_clickid", "s_cid", "wt.mc_id", "ncid",
    "cmpid", "sr_share", "at_medium", "at_campaign", "_ga", "_gl",
})
TRACKING_PREFIXES = ("utm_",)

# Characters left alone when re-quoting a path or a query: reserved and unreserved characters plus '%'
# (so existing escapes stay as they are, and only spaces, non-ASCII and the like get escaped).
_SAFE_PATH = "/%:@!$&'()*+,;=~-._"
_SAFE_QUERY = _SAFE_PATH + "?"


from dealwatch.errors import UnsafeURL  # noqa: E402  (re-exported)


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986, 5.2.4: resolve '.' and '..' segments."""
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    result = "/".join(out)
    return result if result.startswith("/") or not path.startswith("/") else "/" + result


def _host(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        pass
    return host.lower()


def canonical_url(url: str, base: str | None = None) -> str:
    """One spelling of a link: relative links resolved against base, scheme and host lowercased, default
    port, fragment and tracking parameters (utm_*, fbclid, gclid, mc_cid, ...) dropped, other query
    parameters kept in their order and spelling, an empty path made '/', dot segments resolved.

    Only http(s) URLs are rewritten; anything else (mailto:, javascript:, ...) comes back stripped of
    whitespace and otherwise as it was (resolved against base when relative).
    """
    url = (url or "").strip()
    if base:
        url = urljoin(base.strip(), url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.netloc:
        return url
    host = _host(parts)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: leave the netloc alone but lowercased
        port = None
        host = parts.netloc.rsplit("@", 1)[-1].lower()
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    path = quote(_remove_dot_segments(parts.path), safe=_SAFE_PATH) or "/"
    kept = [pair for pair in parts.query.split("&")
            if pair and not _is_tracking(unquote_plus(pair.split("=", 1)[0]))]
    query = quote("&".join(kept), safe=_SAFE_QUERY)
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    """The lowercased host name of a URL ('' when it has none)."""
    return _host(urlsplit((url or "").strip()))


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for private, loopback, link-local, reserved,
    shared (CGNAT), multicast and unspecified addresses, also behind IPv4-mapped/6to4/Teredo IPv6 forms."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast


def is_trusted_host(host: str, feed_url: str, allowed_hosts: Iterable[str]) -> bool:
    """The feed's own host, or a host allowed_hosts lets through whatever it resolves to."""
    host = host.strip("[]").lower().rstrip(".")
    return host == host_of(feed_url).strip("[]") or _allowed(host, allowed_hosts)


def _precheck(url: str, feed_url: str, allowed_hosts: Iterable[str]) -> tuple[str, int] | None:
    """Checks that need no resolution; the (host, port) to resolve, or None when the host is trusted."""
    parts = urlsplit((url or "").strip())
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise UnsafeURL(url, f"scheme {parts.scheme or '(none)'!r} is not http or https")
    host = _host(parts)
    if not host:
        raise UnsafeURL(url, "no host")
    if is_trusted_host(host, feed_url or "", allowed_hosts):
        return None
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
    except ValueError:
        raise UnsafeURL(url, "invalid port") from None
    return host, port


def _allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """host is listed: exactly, under a '*.example.org' pattern (the domain and its subdomains), or '*'."""
    for entry in allowed_hosts:
        entry = (entry or "").strip().lower().rstrip(".")
        if not entry:
            continue
        if entry == "*" or entry == host:
            return True
        if entry.startswith("*.") and (host == entry[2:] or host.endswith(entry[1:])):
            return True
    return False


def _judge(url: str, host: str, addresses: Iterable[str]) -> None:
    addresses = list(addresses)
    if not addresses:
        raise UnsafeURL(url, f"host {host} resolves to no address")
    for address in addresses:
        if not is_public_address(address):
            what = "is" if address == host.strip("[]") else "resolves to"
            raise UnsafeURL(url, f"host {host} {what} a non-public address ({address})")


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def check_article_url(url: str, feed_url: str, allowed_hosts: Iterable[str] = ()) -> None:
    """Raise UnsafeURL unless url may be fetched: http(s), and its host resolves only to public addresses
    -- or it is the feed's own host, or matches allowed_hosts (host names compared lowercased,
    '*.example.org' for a domain and its subdomains, '*' for any host: the guard off, e.g. for a URL a
    person typed).

    Resolution failures propagate as OSError (socket.gaierror): the host is not known to be unsafe, the
    fetch of it just cannot succeed now. Blocking; in async code use `acheck_article_url`.
    """
    target = _precheck(url, feed_url, allowed_hosts)
    if target is None:
        return
    host, port = target
    literal = _literal(host)
    if literal is not None:
        return _judge(url, host, [literal])
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    _judge(url, host, {info[4][0] for info in infos})


async def resolve_public(host: str, port: int, url: str = "") -> list[str]:
    """The addresses of host, all of them public, or UnsafeURL (OSError when it does not resolve).

    fetch.py connects to exactly these addresses, so a second lookup cannot answer differently (DNS
    rebinding) between the check and the connection.
    """
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
    _judge(url or f"//{host}:{port}", host, addresses)
    return addresses


async def acheck_article_url(url: str, feed_url: str, allowed_hosts: Iterable[str] = ()) -> None:
    """`check_article_url` for async code: resolves with the event loop's resolver."""
    target = _precheck(url, feed_url, allowed_hosts)
    if target is not None:
        await resolve_public(*target, url=url)


# -- links of news-search and alert feeds ---------------------------------------------------------------
#
# Google Alerts, Bing News and Google News feeds link to the aggregator, not to the publisher. dealwatch
# keeps the publisher's URL: the same story from a search feed and from the publisher's own feed is then
# one queued entry and one article, and the page fetched is the publisher's (news.google.com answers a
# client outside the US with a cookie-consent page).

# (host, path) of redirectors that carry the publisher's URL in a query parameter, and that parameter
# (a read-only mapping: tests empty the module-level dicts of dealwatch's modules to reset memos)
_REDIRECTORS = MappingProxyType({
    ("www.google.com", "/url"): ("url", "q"),          # Google Alerts: /url?rct=j&sa=t&url=<publisher>&ct=ga...
    ("google.com", "/url"): ("url", "q"),
    ("www.bing.com", "/news/apiclick.aspx"): ("url",),  # Bing News RSS: /news/apiclick.aspx?ref=FexRss&...&url=
    ("bing.com", "/news/apiclick.aspx"): ("url",),
})
GOOGLE_NEWS_HOST = "news.google.com"
_GOOGLE_NEWS_PATHS = ("/rss/articles/", "/articles/", "/read/")


def google_news_id(url: str) -> str | None:
    """The article id of a news.google.com article link (/rss/articles/<id>, /articles/<id>, /read/<id>)."""
    parts = urlsplit((url or "").strip())
    if _host(parts) != GOOGLE_NEWS_HOST:
        return None
    for prefix in _GOOGLE_NEWS_PATHS:
        if parts.path.startswith(prefix):
            article_id = parts.path[len(prefix):].strip("/")
            return article_id if article_id and "/" not in article_id else None
    return None


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def decode_google_news_id(article_id: str) -> str | None:
    """The publisher URL inside an older Google News article id, or None.

    Such an id is the URL-safe base64 of a small protobuf message whose field 4 (length-delimited) is the
    publisher's URL (field 26, when present, its AMP URL). Newer ids ("CBMi..." ids whose field 4 starts
    with "AU_yqL") carry only a reference that Google's own endpoint turns into the URL: None for those,
    as for anything that does not decode."""
    try:
        data = base64.urlsafe_b64decode(article_id + "=" * (-len(article_id) % 4))
    except (ValueError, binascii.Error):
        return None
    i = 0
    try:
        while i < len(data):
            key, i = _varint(data, i)
            field_number, wire = key >> 3, key & 7
            if wire == 0:
                _, i = _varint(data, i)
            elif wire == 2:
                size, i = _varint(data, i)
                value, i = data[i:i + size], i + size
                if field_number == 4:
                    text = value.decode("utf-8")
                    return text if text.startswith(("http://", "https://")) else None
            elif wire == 5:
                i += 4
            elif wire == 1:
                i += 8
            else:
                return None
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def publisher_url(link: str) -> str:
    """The publisher's URL behind an aggregator's link, canonical: a Google Alerts or Bing News redirect
    unwrapped, an older Google News id decoded; any other link (a newer Google News id too) as it was."""
    parts = urlsplit((link or "").strip())
    params = _REDIRECTORS.get((_host(parts), parts.path))
    if params:
        query = parse_qs(parts.query)
        for name in params:
            target = (query.get(name) or [""])[0].strip()
            if urlsplit(target).scheme.lower() in DEFAULT_PORTS:
                return canonical_url(target)
        return link
    article_id = google_news_id(link)
    if article_id:
        decoded = decode_google_news_id(article_id)
        if decoded:
            return canonical_url(decoded)
    return link
