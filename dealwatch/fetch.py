"""The network edge: polling feeds and fetching article pages, politely, incrementally, unbreakably.

One httpx.AsyncClient per cycle (`new_client`), configured by `FetchSettings`. Every request:

- waits for a slot: at most `max_per_host` requests to one host and `max_connections` in all;
- is cut by a total `deadline` (connect + redirects + body), besides httpx's connect/read timeouts, so a
  server that hangs or trickles bytes cannot hold the cycle;
- follows at most `max_redirects` redirects by hand, re-checking each hop's target with the address
  guard (`dealwatch.urls.acheck_article_url`) before connecting to it; new connections of the default
  transport go through a guarded network backend that resolves, checks and connects to the checked
  address itself, so a DNS answer that changes between check and connect (DNS rebinding) gains nothing;
- reads the body as a stream and stops as soon as it passes the size cap, counting DECODED bytes: gzip
  and deflate are decoded here with zlib's max_length, so a compression bomb never inflates in memory
  past the cap (httpx's own decoders inflate a whole network chunk at once);
- for pages: obeys the site's robots.txt (read once per site and client; missing or broken = no rules);
- is retried within the cycle only for transient failures (connect errors, 429, 5xx), a few times, with
  exponential backoff and jitter (stamina), honouring a short Retry-After; a longer Retry-After is
  reported, not waited for: retrying across cycles (and parking dead URLs) is the warehouse's job, and
  FeedPoll / FetchError carry what it needs (transient, retry_after, status).

Validators (feeds): the poll sends If-None-Match / If-Modified-Since when it has them. FeedPoll.etag and
FeedPoll.last_modified are always what to send NEXT time, so the warehouse can store them as they come:
- 200: exactly what the server sent; a validator it did not send becomes None. The old one described an
  older representation: an old Last-Modified sent with a new body could get a wrong 304 later from a
  server that compares dates loosely, and an old ETag can never match anyway.
- 304: the old ones, each replaced by a fresh one if the 304 carries it (RFC 9110 lets it).
- error: the old ones, unchanged.

No DuckDB, no Prefect in here: flows call these functions, the warehouse stores what they return.
"""
from __future__ import annotations

# Exception hierarchy (all carry url, message, transient, retry_after, status):
#
# FetchError                     base; transient = worth trying again in a later cycle
#  ├── BlockedURL                permanent: not http(s), or the host resolves to a non-public address
#  ├── NetworkError              transient: DNS failure, refused/reset connection, protocol error
#  │    ├── FetchTimeout         transient: connect/read timeout, or the request's total deadline passed
#  │    ├── HostUnreachable      transient: the host does not resolve or refuses connections (not retried
#  │    │                        in the cycle; the client remembers the host for the rest of it)
#  │    └── HostSkipped          transient: not tried, its host was found unreachable earlier in the cycle;
#  │                             the item waits for the next cycle without an attempt counted
#  ├── AggregatorLink            permanent: a news.google.com article link that could not be decoded to the
#  │                             publisher's URL; never fetched (outside the US it answers a consent page)
#  ├── HTTPStatusError           an error status (and 3xx without Location): transient for 408, 425, 429
#  │                             and 5xx, with retry_after from Retry-After; permanent otherwise (404, 410)
#  ├── TooManyRedirects          permanent: more than max_redirects hops
#  ├── RobotsDisallowed          permanent: the site's robots.txt disallows the page for dealwatch
#  └── ContentError              the answer came, but is not something to keep (itself: a corrupt gzip or
#       │                        deflate body, transient)
#       ├── BadContentType       permanent: not HTML/XHTML (PDF, image ...), or an unsupported encoding
#       ├── TooLarge             permanent: declared or decoded body larger than the cap
#       └── EmptyBody            transient: 200 with an empty body (usually a server hiccup)
import asyncio
import contextvars
import functools
import importlib.metadata
import logging
import socket
import ssl
import weakref
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpcore
import httpx
import stamina
import stamina.instrumentation

from dealwatch.feeds import ParsedFeed, channel_schedule, parse_feed
from dealwatch.schedule import cache_max_age
from dealwatch.model import FeedItem, Page
from dealwatch.urls import (GOOGLE_NEWS_HOST, UnsafeURL, acheck_article_url, canonical_url, google_news_id, host_of,
                            is_trusted_host, resolve_public)

__all__ = [
    "FetchSettings", "FeedPoll", "new_client", "poll_feed", "poll_feeds", "fetch_page", "fetch_pages",
    "parse_retry_after", "user_agent",
    "FetchError", "BlockedURL", "NetworkError", "FetchTimeout", "HTTPStatusError", "TooManyRedirects",
    "RobotsDisallowed", "ContentError", "BadContentType", "TooLarge", "EmptyBody", "HostUnreachable",
    "HostSkipped", "AggregatorLink", "resolve_news_links", "NewsLinks",
]

try:
    __version__ = importlib.metadata.version("dealwatch")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0"

log = logging.getLogger(__name__)

# parse_feed's signature, awaited: (feed_url, body, content_type, base_url=...) -> ParsedFeed
FeedParser = Callable[..., Awaitable[ParsedFeed]]


def _log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    # stamina's default hook warns "stamina.retry_scheduled" on stderr, without the URL: an in-cycle retry is
    # routine (a flaky feed, a Retry-After), so it goes to dealwatch's own log, at INFO, with what failed
    log.info("retry %d of %s in %.1f s: %s", details.retry_num, details.name, details.wait_for, details.caused_by)


stamina.instrumentation.set_on_retry_hooks([_log_retry])

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
               "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
TRANSIENT_STATUSES = frozenset({408, 425, 429})  # plus every 5xx
ROBOTS_AGENT = "dealwatch"      # the product token robots.txt rules are matched against
MAX_ROBOTS_BYTES = 512 * 1024   # RFC 9309 asks crawlers to read at least 500 KiB


# -- errors ---------------------------------------------------------------------------------------------

from dealwatch.errors import (AggregatorLink, BadContentType, BlockedURL, ContentError,  # noqa: E402,F401
                              EmptyBody, FetchError, FetchTimeout, HostSkipped, HostUnreachable, HTTPStatusError,
                              NetworkError, RobotsDisallowed, TooLarge, TooManyRedirects, _rebuild_error)
# (re-exported: the names have always been importable from dealwatch.fetch, and pickles name them there)


# -- settings and the client ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How the network edge behaves; every default is meant for hundreds of feeds polled unattended."""

    max_connections: int = 16          # requests in flight in all
    max_per_host: int = 2              # requests in flight to one host
    connect_timeout: float = 5.0
    read_timeout: float = 5.0          # between two reads: a page that stalls this long is cut
    deadline: float = 20.0             # one request in all: redirects, waiting, body (not the slot wait)
    max_body_bytes: int = 5 * 1024 * 1024   # a page, decoded
    max_feed_bytes: int = 10 * 1024 * 1024  # a feed, decoded
    max_redirects: int = 5
    page_content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml")
    feed_retries: int = 2              # in-cycle retries of a transient feed failure
    page_retries: int = 1              # in-cycle retries of a transient page failure
    retry_budget: float = 15.0         # seconds all attempts of one request may take before giving up
    retry_wait_initial: float = 0.5    # first backoff; then doubling, plus jitter
    retry_wait_max: float = 4.0
    retry_jitter: float = 0.5
    max_retry_after: float = 5.0       # a longer Retry-After is reported, not waited for in the cycle
    retry_timeouts: bool = False       # retry a timed-out request within the cycle (doubles the wait)
    allowed_hosts: frozenset[str] = frozenset()  # hosts the address guard lets through whatever they resolve to
    respect_robots_txt: bool = True    # pages only (feeds are published to be polled); once per host and client
    contact_url: str = "https://dealwatch.invalid/contact"  # set it to a page that says who runs the bot
    user_agent: str | None = None      # None: "dealwatch/<version> (+<contact_url>)"
    trust_env: bool = True             # honour HTTP(S)_PROXY / NO_PROXY / SSL_CERT_FILE from the environment
    http2: bool = False
    news_decode_max: int = 100         # newer Google News ids sent to Google's decoding endpoint per cycle
                                       # (the rest wait for a later poll: see resolve_news_links)
    news_decode_interval: float = 0.5  # seconds between two article-id requests to it (one at a time)
    news_decoder_endpoint: str | None = None  # a base URL standing in for https://news.google.com (a mirror,
                                              # a test server); None: Google's own

    @classmethod
    def from_options(cls, options=None) -> FetchSettings:
        """From a config table ([fetch] of dealwatch.toml); an unknown key is a ValueError naming the known
        ones (so a typo is not a TypeError deep inside a flow)."""
        options = dict(options or {})
        known = sorted(f.name for f in fields(cls))
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"unknown fetch setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return cls(**options)

    def __post_init__(self):
        if not isinstance(self.allowed_hosts, frozenset):  # a list from a TOML file, a set ...
            object.__setattr__(self, "allowed_hosts", frozenset(self.allowed_hosts))
        object.__setattr__(self, "page_content_types", tuple(t.lower() for t in self.page_content_types))
        if self.max_connections < 1 or self.max_per_host < 1:
            raise ValueError("max_connections and max_per_host must be at least 1")


def user_agent(settings: FetchSettings) -> str:
    return settings.user_agent or f"dealwatch/{__version__} (+{settings.contact_url})"


class _CycleState:
    """The limits of one client: a global semaphore and one per host."""

    def __init__(self, settings: FetchSettings):
        self.settings = settings
        self.all = asyncio.Semaphore(settings.max_connections)
        self.hosts: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(settings.max_per_host))
        self.robots: dict[str, RobotFileParser | None] = {}    # scheme://host:port -> rules (None: none known)
        self.robots_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # host:port -> why it cannot be reached ("does not resolve", "refuses connections"): found once, the
        # host's other requests in this client fail at once instead of each waiting for the same failure
        # (an offline machine or a DNS outage: ~800 items took ~5 minutes)
        self.unreachable: dict[str, str] = {}
        # one first address check per host at a time: a cycle starts all its fetches at once, and 800 lookups of
        # hosts that do not resolve, queued on the resolver's few threads, were what took minutes
        self.resolve_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def skip_unreachable(self, url: str, original: str) -> None:
        """HostSkipped when url's host was found unreachable earlier in this client's life."""
        reason = self.unreachable.get(_endpoint(url))
        if reason is not None:
            raise HostSkipped(original, f"{original}: not tried, host {host_of(url)} {reason} earlier in this "
                                        f"cycle; tried again next cycle")

    @asynccontextmanager
    async def slot(self, host: str):
        # the host first, so a request waiting for its host holds no global slot
        async with self.hosts[host], self.all:
            yield


_STATES: weakref.WeakKeyDictionary[httpx.AsyncClient, _CycleState] = weakref.WeakKeyDictionary()


def _state(client: httpx.AsyncClient, settings: FetchSettings | None) -> _CycleState:
    state = _STATES.get(client)
    if state is None or (settings is not None and settings != state.settings):
        state = _CycleState(settings or FetchSettings())
        _STATES[client] = state
    return state


# The guard's context for connections opened by the current task: (feed URL, allowed hosts), or None.
_GUARD: contextvars.ContextVar[tuple[str, frozenset[str]] | None] = contextvars.ContextVar(
    "dealwatch_address_guard", default=None)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects only to checked public addresses (see the module doc).

    Hosts the guard trusts (the feed's own, allowed_hosts) and connections made outside dealwatch's
    requests are passed through unchanged.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend):
        self.inner = inner

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        guard = _GUARD.get()
        if guard is None or is_trusted_host(host, *guard):
            return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = await resolve_public(host, port)      # UnsafeURL when any address is not public
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return await self.inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@functools.cache
def _tls_context(trust_env: bool) -> ssl.SSLContext:
    """One TLS context per process, shared by every client (they are safe to share): building one parses
    the whole CA bundle, ~30 ms of CPU, and a cycle opens a client per task."""
    return httpx.create_ssl_context(trust_env=trust_env)


def _guarded_transport(settings: FetchSettings) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(
        verify=_tls_context(settings.trust_env),
        limits=httpx.Limits(max_connections=settings.max_connections,
                            max_keepalive_connections=settings.max_connections),
        http2=settings.http2, trust_env=settings.trust_env)
    pool = getattr(transport, "_pool", None)  # httpx keeps its httpcore pool here (0.2x); if it moves, the
    if pool is not None and hasattr(pool, "_network_backend"):  # check before each hop still stands alone
        pool._network_backend = _GuardedBackend(pool._network_backend)
    return transport


def new_client(settings: FetchSettings | None = None, *,
               transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The one client of a cycle: timeouts, pool limits, User-Agent; redirects are followed by hand.

    `transport` replaces httpx's network transport (httpx's seam: a proxy, a recording wrapper, ...).
    Use it as `async with new_client(settings) as client:` and pass it to poll_feed / fetch_page.
    """
    settings = settings or FetchSettings()
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout,
                              write=settings.read_timeout, pool=settings.deadline),
        limits=httpx.Limits(max_connections=settings.max_connections,
                            max_keepalive_connections=settings.max_connections),
        headers={"User-Agent": user_agent(settings), "Accept-Encoding": "gzip, deflate"},
        follow_redirects=False,
        trust_env=settings.trust_env,
        http2=settings.http2,
        transport=transport or _guarded_transport(settings),
    )
    _STATES[client] = _CycleState(settings)
    return client


# -- helpers --------------------------------------------------------------------------------------------

def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date; None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _endpoint(url: str) -> str:
    """host:port of a URL (default port by scheme): the key of _CycleState.unreachable."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host_of(url)}:{port or (443 if parts.scheme.lower() == 'https' else 80)}"


_NO_SUCH_HOST = ("name or service not known", "nodename nor servname", "no address associated",
                 "temporary failure in name resolution", "name does not resolve", "getaddrinfo failed")


def _unreachable_reason(exc: BaseException) -> str | None:
    """'does not resolve' / 'refuses connections' when a request failed for that reason, else None: read
    from the exception and its causes (httpx wraps the OSError of the resolver or of connect())."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, socket.gaierror):
            return "does not resolve"
        if isinstance(exc, ConnectionRefusedError):
            return "refuses connections"
        text = str(exc).lower()
        if any(marker in text for marker in _NO_SUCH_HOST):
            return "does not resolve"
        if "connection refused" in text or "errno 111" in text:
            return "refuses connections"
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


class _BoundedDecoder:
    """Content-Encoding decoder that never produces more than `limit` bytes in all (else TooLarge)."""

    def __init__(self, content_encoding: str, limit: int, url: str):
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise BadContentType(url, f"{url}: unsupported Content-Encoding {content_encoding!r}")
        self.kind = codings[0] if codings else None
        self.limit = limit
        self.url = url
        self.total = 0
        self.started = False
        self.z = self._new()

    def _new(self):
        if self.kind in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.kind == "deflate":
            return zlib.decompressobj()
        return None

    def _count(self, n: int) -> None:
        self.total += n
        if self.total > self.limit:
            raise TooLarge(self.url, f"{self.url}: body larger than {self.limit} bytes"
                           + (f" once decoded ({self.kind})" if self.kind else ""))

    def feed(self, data: bytes) -> bytes:
        if self.z is None:
            self._count(len(data))
            return data
        out = []
        while data:
            try:
                piece = self.z.decompress(data, self.limit - self.total + 1)
            except zlib.error as exc:
                if self.kind == "deflate" and not self.started:  # raw deflate without the zlib wrapper
                    self.z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self.started = True
                    continue
                raise ContentError(self.url, f"{self.url}: corrupt {self.kind} body: {exc}",
                                   transient=True) from None
            self.started = True
            self._count(len(piece))
            out.append(piece)
            if self.z.eof:
                data = self.z.unused_data
                if self.kind == "deflate" or not data.startswith(b"\x1f\x8b"):  # trailing junk: ignored
                    break
                self.z = self._new()
            else:
                data = self.z.unconsumed_tail  # empty unless max_length was hit (then _count raised)
        return b"".join(out)


@dataclass(frozen=True, slots=True)
class _Answer:
    url: str
    final_url: str
    status: int
    headers: httpx.Headers
    body: bytes


async def _get(client: httpx.AsyncClient, state: _CycleState, url: str, *, origin: str, headers: dict,
               max_bytes: int, content_types: Sequence[str] | None, allow_304: bool) -> _Answer:
    """One GET with redirects by hand, the address guard on every hop, the deadline and the size cap."""
    settings = state.settings
    loop = asyncio.get_running_loop()
    current = url
    request = client.build_request("GET", url, headers=headers)
    try:
        async with asyncio.timeout(None) as deadline:
            for hop in range(settings.max_redirects + 1):
                current = str(request.url)
                state.skip_unreachable(current, url)
                async with state.slot(host_of(current)):
                    state.skip_unreachable(current, url)   # found out while this request waited for its slot
                    if hop == 0:  # the clock starts once the request may go (waiting for a slot is not slowness)
                        deadline.reschedule(loop.time() + settings.deadline)
                    try:
                        await acheck_article_url(current, origin, settings.allowed_hosts)
                    except UnsafeURL as exc:
                        where = "" if hop == 0 else f" (redirected from {url})"
                        raise BlockedURL(url, f"{exc}{where}") from None
                    token = _GUARD.set((origin, settings.allowed_hosts))
                    try:
                        response = await client.send(request, stream=True)
                    except UnsafeURL as exc:  # refused by the guarded backend at connect time
                        raise BlockedURL(url, f"{exc} (at connect time)") from None
                    finally:
                        _GUARD.reset(token)
                    try:
                        if response.next_request is not None:  # a redirect with a usable Location
                            request = response.next_request
                            continue
                        return await _read(response, url, max_bytes=max_bytes, content_types=content_types,
                                           allow_304=allow_304)
                    finally:
                        await response.aclose()
            raise TooManyRedirects(url, f"{url}: more than {settings.max_redirects} redirects "
                                        f"(last to {request.url})")
    except TimeoutError:
        raise FetchTimeout(url, f"{url}: no complete answer within the {settings.deadline:g} s deadline"
                           + (f" (at {current})" if current != url else "")) from None
    except httpx.TimeoutException as exc:
        kind = {"ConnectTimeout": "connect timeout", "ReadTimeout": "read timeout", "WriteTimeout": "write timeout",
                "PoolTimeout": "no free connection in time"}.get(type(exc).__name__, type(exc).__name__)
        limit = {"connect timeout": settings.connect_timeout, "read timeout": settings.read_timeout}.get(kind)
        raise FetchTimeout(url, f"{url}: {kind}" + (f" ({limit:g} s)" if limit else "")
                           + (f" at {current}" if current != url else "")) from None
    except httpx.UnsupportedProtocol as exc:
        raise BlockedURL(url, f"{url}: unsupported protocol ({exc})") from None
    except httpx.TooManyRedirects as exc:
        raise TooManyRedirects(url, f"{url}: {exc}") from None
    except httpx.HTTPError as exc:  # connect/read/write/protocol errors, an invalid Location ...
        _note_unreachable(state, current, exc, url)
        raise NetworkError(url, f"{url}: {type(exc).__name__}: {str(exc) or 'connection failed'}"
                           + (f" at {current}" if current != url else "")) from None
    except OSError as exc:  # name resolution in the guard
        _note_unreachable(state, current, exc, url)
        raise NetworkError(url, f"{url}: cannot resolve or reach host of {current}: {exc}") from None


def _note_unreachable(state: _CycleState, current: str, exc: BaseException, url: str) -> None:
    """A host that does not resolve or refuses connections: remembered for the rest of the cycle, and
    HostUnreachable (not retried in the cycle) instead of a plain NetworkError."""
    reason = _unreachable_reason(exc)
    if reason is None or isinstance(exc, httpx.TimeoutException):
        return
    state.unreachable[_endpoint(current)] = reason
    raise HostUnreachable(url, f"{url}: host {host_of(current)} {reason} ({type(exc).__name__}: {exc}); its "
                               f"requests wait for the "
                               f"next cycle" + (f" (at {current})" if current != url else "")) from None


async def _read(response: httpx.Response, url: str, *, max_bytes: int, content_types: Sequence[str] | None,
                allow_304: bool) -> _Answer:
    status = response.status_code
    final = str(response.url)
    via = f" (redirected to {final})" if final != url else ""
    if status == 304 and allow_304:
        return _Answer(url, final, status, response.headers, b"")
    if not 200 <= status < 300:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        transient = status >= 500 or status in TRANSIENT_STATUSES
        reason = response.reason_phrase or ""
        what = f"HTTP {status} {reason}".rstrip()
        if 300 <= status < 400:
            what += " (a redirect without a usable Location)"
        later = f", retry after {retry_after:g} s" if retry_after is not None else ""
        raise HTTPStatusError(url, f"{url}{via}: {what}{later}", transient=transient,
                              retry_after=retry_after, status=status)
    content_type = response.headers.get("Content-Type", "")
    media = _media_type(content_type)
    if content_types is not None and media and media not in content_types:
        raise BadContentType(url, f"{url}{via}: content type {media!r} is not a web page "
                                  f"(wanted {', '.join(content_types)})", status=status)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(url, f"{url}{via}: body of {int(declared)} bytes is larger than {max_bytes}", status=status)
    decoder = _BoundedDecoder(response.headers.get("Content-Encoding", ""), max_bytes, url)
    chunks = []
    try:
        async for raw in response.aiter_raw():
            chunks.append(decoder.feed(raw))
    except FetchError as exc:
        exc.status = status
        raise
    body = b"".join(chunks)
    if content_types is not None:
        if not body.strip():
            raise EmptyBody(url, f"{url}{via}: HTTP {status} with an empty body", status=status)
        if not media and not _looks_like_html(body):
            raise BadContentType(url, f"{url}{via}: no content type and the body does not look like HTML",
                                 status=status)
    return _Answer(url, final, status, response.headers, body)


def _retry_hook(settings: FetchSettings):
    """stamina backoff hook: retry transient failures; a short Retry-After is the backoff, a long one stops."""
    def hook(exc: Exception) -> bool | float:
        if not isinstance(exc, FetchError) or not exc.transient or isinstance(exc, (HostUnreachable, HostSkipped)):
            return False
        if isinstance(exc, FetchTimeout) and not settings.retry_timeouts:
            return False
        if exc.retry_after is not None:
            return float(exc.retry_after) if exc.retry_after <= settings.max_retry_after else False
        return True
    return hook


async def _with_retries(settings: FetchSettings, retries: int, call):
    attempts = 0
    async for attempt in stamina.retry_context(
            on=_retry_hook(settings), attempts=1 + max(0, retries), timeout=settings.retry_budget,
            wait_initial=settings.retry_wait_initial, wait_max=settings.retry_wait_max,
            wait_jitter=settings.retry_jitter):
        with attempt:
            attempts += 1
            return await call(), attempts
    raise AssertionError("unreachable")  # pragma: no cover


# -- feeds ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FeedPoll:
    """What one poll of a feed gave. etag / last_modified: the validators to send next time (module doc)."""

    feed_url: str
    status: int | None = None          # HTTP status of the last answer; None when none came
    not_modified: bool = False         # 304: nothing new, nothing parsed
    title: str = ""
    items: list[FeedItem] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None       # after redirects
    error: str | None = None           # None: the poll worked (items may still be few or none)
    transient: bool = False            # for an error: worth trying again next cycle
    retry_after: float | None = None   # seconds the server asked us to wait, when it did
    attempts: int = 0                  # requests made in this cycle (retries included)
    warning: str | None = None         # what was odd in a feed read all the same (ParsedFeed.warning)
    max_age: float | None = None       # Cache-Control max-age of the answer, seconds (dealwatch.schedule)
    ttl: float | None = None           # the RSS channel's <ttl>, seconds
    skip_hours: tuple[int, ...] = ()   # the RSS channel's <skipHours>, UTC

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rate_limited(self) -> bool:
        return self.status == 429


async def poll_feed(client: httpx.AsyncClient, feed_url: str, etag: str | None = None,
                    last_modified: str | None = None, *, settings: FetchSettings | None = None,
                    parse: FeedParser | None = None) -> FeedPoll:
    """Conditional GET of a feed, parsed into FeedItems (by `parse`, an async stand-in for parse_feed that
    may parse elsewhere; parse_feed here when None). Never raises (except on cancellation)."""
    state = _state(client, settings)
    headers = {"Accept": FEED_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    tries = 0

    async def once():
        nonlocal tries
        tries += 1
        return await _get(client, state, feed_url, origin=feed_url, headers=headers,
                          max_bytes=state.settings.max_feed_bytes, content_types=None, allow_304=True)

    try:
        answer, _ = await _with_retries(state.settings, state.settings.feed_retries, once)
    except FetchError as exc:
        return FeedPoll(feed_url, status=exc.status, etag=etag, last_modified=last_modified, error=str(exc),
                        transient=exc.transient, retry_after=exc.retry_after, attempts=tries)
    except Exception as exc:  # a bug of ours must not stop the other feeds, nor park this one
        return FeedPoll(feed_url, etag=etag, last_modified=last_modified, attempts=tries, transient=True,
                        error=f"{feed_url}: unexpected {type(exc).__name__}: {exc}")

    new_etag = answer.headers.get("ETag")
    new_modified = answer.headers.get("Last-Modified")
    asked = {"max_age": cache_max_age(answer.headers.get("Cache-Control")),
             "retry_after": parse_retry_after(answer.headers.get("Retry-After"))}
    if answer.status == 304:
        return FeedPoll(feed_url, status=304, not_modified=True, etag=new_etag or etag,
                        last_modified=new_modified or last_modified, final_url=answer.final_url, attempts=tries,
                        **asked)
    ttl, skip_hours = channel_schedule(answer.body)
    content_type = answer.headers.get("Content-Type")
    if parse is None:
        parsed = parse_feed(feed_url, answer.body, content_type, base_url=answer.final_url)
    else:
        parsed = await parse(feed_url, answer.body, content_type, base_url=answer.final_url)
    return FeedPoll(feed_url, status=answer.status, title=parsed.title, items=parsed.items,
                    etag=new_etag, last_modified=new_modified, final_url=answer.final_url,
                    error=parsed.error, transient=parsed.error is not None and not answer.body.strip(),
                    attempts=tries, warning=parsed.warning, ttl=ttl, skip_hours=skip_hours, **asked)


async def poll_feeds(feeds: Sequence[tuple[str, str | None, str | None]], settings: FetchSettings | None = None,
                     *, transport: httpx.AsyncBaseTransport | None = None,
                     parse: FeedParser | None = None) -> list[FeedPoll]:
    """Poll (feed_url, etag, last_modified) triples concurrently in one client; results in input order."""
    async with new_client(settings, transport=transport) as client:
        return list(await asyncio.gather(*(poll_feed(client, url, etag, modified, parse=parse)
                                           for url, etag, modified in feeds)))


# -- pages ----------------------------------------------------------------------------------------------

async def _robots_allow(client: httpx.AsyncClient, state: _CycleState, url: str, origin: str,
                        asked: list | None = None) -> bool:
    """Whether the site's robots.txt lets dealwatch fetch url; read once per site and client.

    Lenient where RFC 9309 leaves room: a robots.txt that is missing (4xx), unreachable, blocked by the
    address guard or broken (5xx) gives no rules, and the page fetch itself then says what is wrong.
    """
    parts = urlsplit(url)
    site = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
    async with state.robots_locks[site]:
        if site not in state.robots:
            rules = None
            if asked is not None:
                asked.append(site)   # this call made the request (the caller's attempt, should it fail)
            try:
                answer = await _get(client, state, f"{site}/robots.txt", origin=origin,
                                    headers={"Accept": "text/plain, */*;q=0.5"}, max_bytes=MAX_ROBOTS_BYTES,
                                    content_types=None, allow_304=False)
            except FetchError:
                pass
            else:
                rules = RobotFileParser()
                rules.parse(answer.body.decode("utf-8", errors="replace").splitlines())
            state.robots[site] = rules
    rules = state.robots[site]
    return rules is None or rules.can_fetch(ROBOTS_AGENT, url)


async def fetch_page(client: httpx.AsyncClient, item: FeedItem, *, settings: FetchSettings | None = None) -> Page:
    """GET an article page (HTML/XHTML only) -> Page, or raise FetchError naming the URL.

    The link must pass the address guard (its feed's host and settings.allowed_hosts are trusted); so
    must every redirect hop. With settings.respect_robots_txt the site's robots.txt is read first (once
    per site and client) and a disallowed page raises RobotsDisallowed. The body is returned as bytes: decoding is downstream (Page.encoding is the
    charset the server declared, if any).
    """
    state = _state(client, settings)
    settings = state.settings
    if google_news_id(item.link):
        raise AggregatorLink(item.link, f"{item.link}: a Google News link not decoded to the publisher's URL; not "
                                        f"fetched (it answers a consent page outside the US): the feed's title, "
                                        f"summary and source stand in")
    state.skip_unreachable(item.link, item.link)

    asked: list[str] = []

    async def robots():
        try:
            async with state.resolve_locks[_endpoint(item.link)]:
                state.skip_unreachable(item.link, item.link)   # found while this one waited
                await acheck_article_url(item.link, item.feed_url, settings.allowed_hosts)  # before any request
        except UnsafeURL as exc:
            raise BlockedURL(item.link, str(exc)) from None
        except OSError as exc:   # not resolvable now: this item's attempt failed, the host's others are skipped
            _note_unreachable(state, item.link, exc, item.link)
            return
        if not await _robots_allow(client, state, item.link, item.feed_url, asked):
            raise RobotsDisallowed(item.link, f"{item.link}: disallowed for {ROBOTS_AGENT} by the site's robots.txt")

    async def once():
        return await _get(client, state, item.link, origin=item.feed_url, headers={"Accept": PAGE_ACCEPT},
                          max_bytes=settings.max_body_bytes, content_types=settings.page_content_types,
                          allow_304=False)

    try:
        if settings.respect_robots_txt:
            await robots()
            reason = state.unreachable.get(_endpoint(item.link))
            if reason is not None and asked:   # found by this item's own robots.txt request: its attempt
                raise HostUnreachable(item.link, f"{item.link}: host {host_of(item.link)} {reason}; its requests "
                                                 f"wait for the next cycle")
        answer, _ = await _with_retries(settings, settings.page_retries, once)
    except FetchError:
        raise
    except Exception as exc:  # a bug of ours: still a FetchError, so batches and callers see one kind
        raise FetchError(item.link, f"{item.link}: unexpected {type(exc).__name__}: {exc}",
                         transient=True) from exc
    content_type = answer.headers.get("Content-Type", "")
    charset = None
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()
    return Page(url=item.link, final_url=answer.final_url, status=answer.status, content_type=content_type,
                body=answer.body, encoding=charset, etag=answer.headers.get("ETag"),
                last_modified=answer.headers.get("Last-Modified"))


async def fetch_pages(items: Sequence[FeedItem], settings: FetchSettings | None = None, *,
                      transport: httpx.AsyncBaseTransport | None = None) -> list[Page | FetchError]:
    """Fetch many pages concurrently in one client; a Page or the FetchError for each, in input order."""
    async def one(client, item):
        try:
            return await fetch_page(client, item)
        except FetchError as exc:
            return exc

    async with new_client(settings, transport=transport) as client:
        return list(await asyncio.gather(*(one(client, item) for item in items)))


# -- Google News links ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NewsLinks:
    """What resolve_news_links did: the polls with publisher URLs, and the decodings to remember."""

    polls: list[FeedPoll]
    decoded: dict[str, str | None]   # link -> publisher URL (None: failed; the link is queued as it is)
    errors: dict[str, str]           # link -> why decoding failed
    postponed: int = 0               # entries left for a later poll (over news_decode_max)


class _Redirected(httpx.AsyncBaseTransport):
    """Sends requests for news.google.com to another base URL (FetchSettings.news_decoder_endpoint)."""

    def __init__(self, base: str, inner: httpx.AsyncBaseTransport):
        self.base = httpx.URL(base)
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == GOOGLE_NEWS_HOST:
            request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
            request.headers["Host"] = request.url.netloc.decode("ascii")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _decode_news_ids(links: list[str], settings: FetchSettings) -> tuple[dict[str, str], dict[str, str]]:
    """Newer Google News links -> publisher URLs, with googlenewsdecoder (Google's own decoding endpoint: an
    article page for each id's signature, one at a time, news_decode_interval apart, then one batch request);
    (decoded, errors)."""
    from googlenewsdecoder import GoogleDecoderAsync   # imported only when a feed has such links

    decoded: dict[str, str] = {}
    errors: dict[str, str] = {}
    async with GoogleDecoderAsync(timeout=settings.deadline, user_agent=user_agent(settings)) as decoder:
        if settings.news_decoder_endpoint:
            await decoder.client.aclose()
            decoder.client = httpx.AsyncClient(
                transport=_Redirected(settings.news_decoder_endpoint, httpx.AsyncHTTPTransport()),
                follow_redirects=True, timeout=settings.deadline, headers={"User-Agent": user_agent(settings)})
        try:
            results = await decoder.decode_google_news_urls(links, interval=settings.news_decode_interval,
                                                            concurrency=1)
        except Exception as exc:   # the library's own failure must not cost the poll: every link falls back
            results = [{"success": False, "message": f"{type(exc).__name__}: {exc}"} for _ in links]
    for link, result in zip(links, results, strict=True):
        url = result.get("decoded_url") if result.get("success") else None
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            decoded[link] = canonical_url(url)
        else:
            errors[link] = str(result.get("message") or "no URL in the answer")
    return decoded, errors


async def resolve_news_links(polls: Sequence[FeedPoll], known: dict[str, str | None],
                             settings: FetchSettings | None = None) -> NewsLinks:
    """Replace the Google News article links that feeds' parsing could not decode locally (newer ids) by the
    publisher's URL, so that the entry is queued, deduplicated and fetched as the publisher's.

    known: links already settled (the warehouse's news_links and feed_items): not sent again. At most
    settings.news_decode_max new ids per call: the entries over it are left out of their poll, and that
    feed's validators are dropped, so the next poll gets the whole feed again and them with it. A link that
    does not decode stays as it is: never fetched (AggregatorLink), the feed's title, summary and <source>
    stand in."""
    settings = settings or FetchSettings()
    todo = list(dict.fromkeys(item.link for poll in polls if poll.ok for item in poll.items
                              if google_news_id(item.link) and item.link not in known))
    now, later = todo[:max(0, settings.news_decode_max)], set(todo[max(0, settings.news_decode_max):])
    decoded, errors = await _decode_news_ids(now, settings) if now else ({}, {})
    mapping = {**known, **decoded}
    out: list[FeedPoll] = []
    for poll in polls:
        if not poll.ok or not any(google_news_id(item.link) for item in poll.items):
            out.append(poll)
            continue
        items, seen, postponed = [], set(), False
        for item in poll.items:
            if item.link in later:
                postponed = True
                continue
            link = mapping.get(item.link) or item.link
            if link in seen:
                continue
            seen.add(link)
            items.append(item if link == item.link else replace(item, link=link))
        changes = {"items": items}
        if postponed:
            changes.update(etag=None, last_modified=None)
        out.append(replace(poll, **changes))
    if later:
        log.info("%d Google News links left for a later poll (news_decode_max %d)", len(later),
                 settings.news_decode_max)
    return NewsLinks(out, {**decoded, **{link: None for link in errors}}, errors, len(later))
