"""The bundled sample: a small news site on a free loopback port, serving a labelled corpus as feeds.

`dealwatch demo` serves dealwatch/demo_data (our own sample articles, in the corpus format of
shared/eval/corpus_spec.md) and runs a real cycle against it; the tests use the same server as a real
HTTP peer. Feeds are RSS 2.0 with a strong ETag and Last-Modified and answer 304 when unchanged, as a
well-behaved news site does. Standard library only.
"""
from __future__ import annotations

import hashlib
import json
import sys
import threading
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape


def demo_corpus() -> Path:
    return Path(str(resources.files("dealwatch") / "demo_data"))


def load_corpus(folder: Path) -> list[dict]:
    lines = (folder / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _rss(title: str, base_url: str, articles: list[dict]) -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
             f"<title>{escape(title)}</title><link>{escape(base_url)}/</link><description>{escape(title)}</description>"]
    for a in articles:
        link = escape(f"{base_url}/a/{a['id']}.html")
        date = ""
        if a.get("published"):
            stamp = datetime.fromisoformat(a["published"]).replace(tzinfo=UTC)
            date = f"<pubDate>{format_datetime(stamp, usegmt=True)}</pubDate>"
        parts.append(f"\n<item><title>{escape(a['title'])}</title><link>{link}</link>"
                     f"<description>{escape(a.get('summary', ''))}</description>{date}"
                     f'<guid isPermaLink="true">{link}</guid></item>')
    parts.append("\n</channel></rss>\n")
    return "".join(parts).encode()


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up (reset, broken pipe: a cycle killed mid-request) ends its connection without
    socketserver's traceback on stderr; any other error in a handler is still printed."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exception(), ConnectionError):
            return
        super().handle_error(request, client_address)


class SampleNewsServer:
    """A corpus folder served on 127.0.0.1: /feeds/<feed>.xml and /a/<id>.html. Phase-2 articles are
    listed once .phase is 2. Counts requests per path in .hits."""

    def __init__(self, folder: Path | None = None, port: int = 0, phase: int = 1):
        self.folder = Path(folder) if folder else demo_corpus()
        self.articles = load_corpus(self.folder)
        self.phase = phase
        self.hits: dict[str, int] = {}
        self.notifications: list[dict] = []   # bodies POSTed to /notify (apprise's json:// format)
        self.delays: dict[str, float] = {}    # path -> seconds to stall before answering (tests: a hung page;
                                              # a POST to it stalls and is dropped unanswered, unrecorded)
        self._closing = threading.Event()
        self.statuses: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", port), _Handler)
        self._httpd.sample = self
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sample-news", daemon=True)
        self._thread.start()

    @property
    def notify_url(self) -> str:
        """An apprise URL that delivers to this server's /notify, for the demo's alerts."""
        return f"json://{self.base_url.removeprefix('http://')}/notify"

    @property
    def feeds(self) -> list[str]:
        return sorted({a["feed"] for a in self.articles})

    def feed_urls(self) -> list[str]:
        return [f"{self.base_url}/feeds/{slug}.xml" for slug in self.feeds]

    def listed(self, feed: str) -> list[dict]:
        chosen = [a for a in self.articles if a["feed"] == feed and a.get("phase", 1) <= self.phase]
        return sorted(chosen, key=lambda a: (a.get("published") or "", a["id"]), reverse=True)

    def close(self) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def answer(self, path: str, headers) -> tuple[int, dict, bytes]:
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
        if self.delays.get(path):
            self._closing.wait(self.delays[path])
        if path.startswith("/feeds/") and path.endswith(".xml"):
            feed = path.removeprefix("/feeds/").removesuffix(".xml")
            listed = self.listed(feed)
            if not listed and feed not in self.feeds:
                return 404, {"Content-Type": "text/plain"}, b"no such feed\n"
            source = listed[0]["source"] if listed else feed
            body = _rss(source, self.base_url, listed)
            dates = [a["published"] for a in listed if a.get("published")]
            modified = datetime.fromisoformat(max(dates)).replace(tzinfo=UTC) if dates else None
            return _conditional(body, "application/rss+xml; charset=utf-8", headers, modified)
        if path.startswith("/a/") and path.endswith(".html"):
            page = self.folder / "articles" / path.removeprefix("/a/")
            if page.parent == self.folder / "articles" and page.is_file():
                return _conditional(page.read_bytes(), "text/html; charset=utf-8", headers, None)
        return 404, {"Content-Type": "text/plain"}, b"not found\n"


def _conditional(body: bytes, content_type: str, headers, modified: datetime | None) -> tuple[int, dict, bytes]:
    etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    out = {"ETag": etag, "Content-Type": content_type}
    if modified:
        out["Last-Modified"] = format_datetime(modified, usegmt=True)
    if headers.get("If-None-Match") is not None:
        fresh = etag in [t.strip() for t in headers["If-None-Match"].split(",")]
    elif headers.get("If-Modified-Since") and modified:
        try:
            fresh = parsedate_to_datetime(headers["If-Modified-Since"]) >= modified
        except (TypeError, ValueError):
            fresh = False
    else:
        fresh = False
    return (304, out, b"") if fresh else (200, out, body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        server: SampleNewsServer = self.server.sample
        status, headers, body = server.answer(urlsplit(self.path).path, self.headers)
        with server._lock:
            server.statuses.append((urlsplit(self.path).path, status))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def do_POST(self):
        server: SampleNewsServer = self.server.sample
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        stall = server.delays.get(urlsplit(self.path).path)
        if stall:   # a receiver that hangs: no answer, nothing recorded (tests: a stop during delivery)
            with server._lock:
                server.hits[urlsplit(self.path).path] = server.hits.get(urlsplit(self.path).path, 0) + 1
            server._closing.wait(stall)
            self.close_connection = True
            return
        try:
            note = json.loads(raw)
        except ValueError:
            note = {"message": raw.decode("utf-8", errors="replace")}
        ok = urlsplit(self.path).path.rstrip("/") == "/notify"
        if ok:
            with server._lock:
                server.notifications.append(note)
        body = b'{"ok":true}' if ok else b"not found\n"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
