"""The benchmark's news site: a threaded HTTP/1.1 server on 127.0.0.1, run in its OWN process (so it never
takes the GIL or a core's time from the process being measured; its CPU time is reported per phase).

    python benchmarks/server.py --feeds F --set NAME:N [--set NAME:N ...]

prints "READY <port>" once every page is generated (in memory), then serves until killed:
  /<set>/feeds/<k>.xml      RSS 2.0 of the set's articles with index % F == k; strong ETag and
                            Last-Modified, 304 on If-None-Match / If-Modified-Since when unchanged
  /<set>/a/<i>-<slug>.html  article page i of the set (benchmarks/corpus.py)
  /robots.txt               404 (no rules)
  POST /notify              apprise json:// receiver
  /_stats                   JSON counters: requests and response bytes per kind, statuses, request bytes,
                            this process's CPU seconds
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, time
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402


PRELOAD_PAGES = int(os.environ.get("BENCH_PRELOAD_PAGES", "30000"))   # pages generated up front and kept in memory (~35 KB each)


class Site:
    def __init__(self, sets: dict[str, int], feeds: int, seed: int):
        self.seed = seed
        self.preload = sum(sets.values()) <= PRELOAD_PAGES
        self.pages: dict[str, bytes] = {}
        self.paths: dict[str, tuple[str, int]] = {}   # page path -> (set, index), when pages are made on demand
        self.feeds: dict[str, tuple[bytes, str, str | None]] = {}   # path -> (body, etag, last-modified)
        self.lock = threading.Lock()
        self.stats = Counter()
        for name, n in sets.items():
            listed: dict[int, list[corpus.Entry]] = {k: [] for k in range(feeds)}
            for i in range(n):
                entry, body = corpus._entry_and_page(name, i, seed)
                if self.preload:
                    self.pages[entry.path] = body
                else:   # a very large run: pages are generated again when asked for (~0.4 ms each)
                    self.paths[entry.path] = (name, i)
                listed[corpus.feed_of(i, feeds)].append(entry)
            for k, entries in listed.items():
                self.feeds[f"/{name}/feeds/{k}.xml"] = self._rss(name, k, entries)

    def page(self, path: str) -> bytes | None:
        if self.preload:
            return self.pages.get(path)
        where = self.paths.get(path)
        return corpus.page(where[0], where[1], self.seed) if where else None

    def _rss(self, name: str, k: int, entries: list[corpus.Entry]) -> tuple[bytes, str, str | None]:
        base = "http://127.0.0.1:{port}"   # filled in per request (the port is known after binding)
        parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
                 f"<title>Bench feed {name} {k}</title><link>{base}/</link><description>feed {k}</description>"]
        dates = []
        for e in sorted(entries, key=lambda e: (e.published or datetime.min.date(), e.index), reverse=True):
            link = escape(f"{base}{e.path}")
            stamp = ""
            if e.published:
                moment = datetime.combine(e.published, time(12, 0), tzinfo=UTC)
                dates.append(moment)
                stamp = f"<pubDate>{format_datetime(moment, usegmt=True)}</pubDate>"
            parts.append(f"\n<item><title>{escape(e.title)}</title><link>{link}</link>"
                         f"<description>{escape(e.summary)}</description>{stamp}"
                         f'<guid isPermaLink="true">{link}</guid></item>')
        parts.append("\n</channel></rss>\n")
        body = "".join(parts)
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:24] + '"'
        modified = format_datetime(max(dates), usegmt=True) if dates else None
        return body.encode(), etag, modified

    def count(self, **amounts) -> None:
        with self.lock:
            self.stats.update(amounts)


class _Counting:
    """A file wrapper that counts the bytes through it."""

    def __init__(self, f, site: Site, key: str):
        self.f, self.site, self.key = f, site, key

    def write(self, b):
        self.site.count(**{self.key: len(b)})
        return self.f.write(b)

    def readline(self, *a):
        line = self.f.readline(*a)
        self.site.count(**{self.key: len(line)})
        return line

    def read(self, *a):
        data = self.f.read(*a)
        self.site.count(**{self.key: len(data)})
        return data

    def __getattr__(self, name):
        return getattr(self.f, name)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # else a 40 ms delayed-ACK stall per response on keep-alive connections

    def setup(self):
        super().setup()
        site = self.server.site
        self.rfile = _Counting(self.rfile, site, "bytes_in")
        self.wfile = _Counting(self.wfile, site, "bytes_out")

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, headers: dict, body: bytes, kind: str) -> None:
        site: Site = self.server.site
        site.count(**{f"req_{kind}": 1, f"status_{status}": 1, f"{kind}_{status}": 1})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        if status != 304 and self.command != "HEAD":
            self._headers_buffer.append(b"\r\n" + body)   # headers and body in one write
            self.flush_headers()
        else:
            self.end_headers()

    def do_GET(self):
        site: Site = self.server.site
        path = self.path.split("?", 1)[0]
        if path == "/_stats":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            with site.lock:
                stats = dict(site.stats)
            stats["cpu_s"] = usage.ru_utime + usage.ru_stime
            stats["maxrss_mb"] = usage.ru_maxrss / 1024
            body = json.dumps(stats).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path in site.feeds:
            body, etag, modified = site.feeds[path]
            body = body.replace(b"{port}", str(self.server.server_address[1]).encode())
            headers = {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag}
            if modified:
                headers["Last-Modified"] = modified
            fresh = False
            if self.headers.get("If-None-Match") is not None:
                fresh = etag in [t.strip() for t in self.headers["If-None-Match"].split(",")]
            elif self.headers.get("If-Modified-Since") and modified:
                try:
                    fresh = parsedate_to_datetime(self.headers["If-Modified-Since"]) >= parsedate_to_datetime(modified)
                except (TypeError, ValueError):
                    fresh = False
            self._send(304 if fresh else 200, headers, b"" if fresh else body, "feed")
            return
        body = site.page(path)
        if body is not None:
            self._send(200, {"Content-Type": "text/html; charset=utf-8"}, body, "page")
            return
        kind = "robots" if path == "/robots.txt" else "other"
        self._send(404, {"Content-Type": "text/plain"}, b"not found\n", kind)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._send(200, {"Content-Type": "application/json"}, b'{"ok":true}', "notify")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, required=True)
    parser.add_argument("--set", action="append", required=True, metavar="NAME:N")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sets = {name: int(n) for name, n in (s.split(":") for s in args.set)}
    site = Site(sets, args.feeds, args.seed)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.daemon_threads = True
    httpd.request_queue_size = 128
    httpd.site = site
    print(f"READY {httpd.server_address[1]}", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
