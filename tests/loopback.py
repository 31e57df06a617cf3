"""A real HTTP server on 127.0.0.1 for tests, programmable per route. Standard library only.

    with LoopbackServer() as server:                      # or the `loopback` fixture of conftest.py
        server.route("/feed.xml", body=rss_feed(...), content_type="application/rss+xml",
                     etag='"v1"', last_modified="Sat, 01 Jun 2024 00:00:00 GMT")   # answers 304 when fresh
        server.route("/flaky", Route(status=503, headers={"Retry-After": "1"}), Route(body=b"<p>ok</p>"))
        server.redirect("/old", "/new", status=301)       # Location absolute: server.url("/new")
        server.route("/bomb", body=gzip_bomb(50 << 20), headers={"Content-Encoding": "gzip"})
        server.route("/slow", body=b"<p>late</p>", delay=5)                 # wakes up early on close()
        url = server.url("/feed.xml")
        ...
        server.hits("/feed.xml")                          # requests that path received
        server.max_in_flight                              # most requests answered at once
        server.requests_to("/feed.xml")[-1].header("If-None-Match")

A route given several Routes answers them in turn, the last one repeating. Unknown paths answer 404.
Paths are matched without the query string. Every request is recorded (method, path, query, headers).
"""
from __future__ import annotations

import gzip
import sys
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

__all__ = ["LoopbackServer", "QuietHTTPServer", "Route", "Recorded", "gzip_bomb", "rss_feed", "atom_feed",
           "html_page"]

HTML = "text/html; charset=utf-8"


@dataclass
class Route:
    """One programmed answer.

    framing: "length" sends Content-Length (the true one, or `content_length` when given: a lying server);
    "chunked" uses Transfer-Encoding: chunked; "close" sends neither and closes the connection after the
    body. chunk_size / chunk_delay send the body in pieces with a pause between them (a trickling server).
    etag / last_modified: sent as headers; a request whose If-None-Match matches etag (or, without
    If-None-Match, whose If-Modified-Since is not older than last_modified) gets 304 without a body.
    gzip=True compresses `body` and sends Content-Encoding: gzip.
    """

    status: int = 200
    body: bytes | str = b""
    content_type: str | None = HTML
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    framing: str = "length"
    content_length: int | None = None
    chunk_size: int = 64 * 1024
    chunk_delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    time: float

    def header(self, name: str) -> str | None:
        """A request header by name, case-insensitively (None when absent)."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def gzip_bomb(decoded_size: int) -> bytes:
    """A gzip stream of `decoded_size` zero bytes (about 1/1000 of that on the wire)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = []
    left = decoded_size
    while left > 0:
        parts.append(z.compress(block[:min(left, len(block))]))
        left -= len(block)
    parts.append(z.flush())
    return b"".join(parts)


def html_page(title: str, *paragraphs: str) -> bytes:
    body = "".join(f"<p>{escape(p)}</p>\n" for p in paragraphs)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"</head><body><article><h1>{escape(title)}</h1>\n{body}</article></body></html>\n").encode()


def rss_feed(title: str, items: list[dict], *, link: str = "http://127.0.0.1/") -> bytes:
    """RSS 2.0 bytes; each item a dict with any of title, link, description, pubDate, guid (strings, as-is
    except that title/description are XML-escaped)."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
             f"<title>{escape(title)}</title><link>{escape(link)}</link><description>test</description>"]
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "description", "pubDate", "guid"):
            if key in item:
                value = item[key] if key in ("pubDate",) else escape(item[key])
                parts.append(f"<{key}>{value}</{key}>")
        parts.append("</item>\n")
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


def atom_feed(title: str, entries: list[dict], *, feed_id: str = "urn:test:feed") -> bytes:
    """Atom 1.0 bytes; each entry a dict with any of title, link, summary, content (HTML), published, id."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
             f"<title>{escape(title)}</title><id>{escape(feed_id)}</id><updated>2024-06-01T00:00:00Z</updated>"]
    for entry in entries:
        parts.append("<entry>")
        if "title" in entry:
            parts.append(f"<title>{escape(entry['title'])}</title>")
        if "link" in entry:
            parts.append(f'<link rel="alternate" href="{escape(entry["link"])}"/>')
        parts.append(f"<id>{escape(entry.get('id', entry.get('link', 'urn:x')))}</id>")
        if "published" in entry:
            parts.append(f"<published>{entry['published']}</published><updated>{entry['published']}</updated>")
        if "summary" in entry:
            parts.append(f"<summary>{escape(entry['summary'])}</summary>")
        if "content" in entry:
            parts.append(f'<content type="html">{escape(entry["content"])}</content>')
        parts.append("</entry>\n")
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def _is_fresh(headers, etag: str | None, last_modified: str | None) -> bool:
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return etag is not None and ("*" in tags or etag.removeprefix("W/") in tags)
    since = headers.get("If-Modified-Since")
    if since and last_modified:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


class QuietHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that lets a client hang up: a connection reset or closed under it (a process
    killed mid-request, a client that timed out) ends that connection without socketserver's traceback on
    stderr. Any other error in a handler is still printed."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exception(), ConnectionError):   # reset, broken pipe, aborted: the client left
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 (random port) in a background thread; see the module doc."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._routes: dict[str, list[Route]] = {}
        self._served: dict[str, int] = defaultdict(int)
        self.requests: list[Recorded] = []
        self.in_flight = 0          # requests being answered now
        self.max_in_flight = 0      # the most ever answered at once (to check client-side limits)
        self._lock = threading.Lock()
        self.closing = threading.Event()
        self._httpd = QuietHTTPServer((host, port), _Handler)
        self._httpd.loopback = self
        self.host = host
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="loopback-http", daemon=True)
        self._thread.start()

    # -- programming --------------------------------------------------------------------------------

    def url(self, path: str = "/", host: str | None = None) -> str:
        """Absolute URL of a path here; host='localhost' spells the same server another way."""
        return f"http://{host or self.host}:{self.port}{path}"

    def route(self, path: str, *routes: Route, **fields) -> None:
        """Program a path: either Route objects (answered in turn, the last repeating) or Route's fields."""
        if routes and fields:
            raise TypeError("give Route objects or Route fields, not both")
        with self._lock:
            self._routes[path] = list(routes) or [Route(**fields)]
            self._served[path] = 0

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        """path answers `status` with Location `to` (a path here is made absolute; a URL is kept)."""
        location = to if "://" in to else self.url(to)
        self.route(path, status=status, headers={"Location": location}, content_type=None)

    # -- inspection ---------------------------------------------------------------------------------

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def hits(self, path: str) -> int:
        return len(self.requests_to(path))

    # -- life ---------------------------------------------------------------------------------------

    def close(self) -> None:
        self.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- called by the handler ----------------------------------------------------------------------

    def _answer(self, path: str) -> Route | None:
        with self._lock:
            routes = self._routes.get(path)
            if routes is None:
                return None
            n = self._served[path]
            self._served[path] = n + 1
            return routes[min(n, len(routes) - 1)]

    def _record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    def _busy(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta
            self.max_in_flight = max(self.max_in_flight, self.in_flight)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Loopback/1.0"
    timeout = 30

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._handle(send_body=True)

    def do_HEAD(self):
        self._handle(send_body=False)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._handle(send_body=True)

    def _handle(self, send_body: bool) -> None:
        server: LoopbackServer = self.server.loopback
        parts = urlsplit(self.path)
        server._record(Recorded(self.command, parts.path, parts.query, dict(self.headers.items()), time.time()))
        server._busy(+1)
        try:
            self._answer_with(server, parts.path, send_body)
        finally:
            server._busy(-1)

    def _answer_with(self, server: LoopbackServer, path: str, send_body: bool) -> None:
        route = server._answer(path)
        if route is None:
            route = Route(status=404, body=b"not found\n", content_type="text/plain")
        if route.delay and server.closing.wait(route.delay):
            self.close_connection = True
            return
        try:
            self._send(route, send_body, server.closing)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, route: Route, send_body: bool, closing: threading.Event) -> None:
        body = route.body.encode("utf-8") if isinstance(route.body, str) else route.body
        headers = dict(route.headers)
        if route.content_type:
            headers.setdefault("Content-Type", route.content_type)
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        status = route.status
        if status == 200 and (route.etag or route.last_modified) and \
                _is_fresh(self.headers, route.etag, route.last_modified):
            status, body = 304, b""
            headers.pop("Content-Type", None)
            headers.pop("Content-Encoding", None)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        framing = route.framing if status != 304 else "length"
        if framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif framing == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        elif status != 304:
            self.send_header("Content-Length", str(route.content_length if route.content_length is not None
                                                   else len(body)))
        self.end_headers()
        if not send_body or status == 304:
            return
        for i in range(0, len(body), route.chunk_size):
            if i and route.chunk_delay and closing.wait(route.chunk_delay):
                self.close_connection = True
                return
            piece = body[i:i + route.chunk_size]
            if framing == "chunked":
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            self.wfile.flush()
        if framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
        if route.content_length is not None and route.content_length != len(body):
            self.close_connection = True  # the framing is broken: do not reuse the connection

