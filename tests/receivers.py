"""Real receivers on loopback for notification tests: an HTTP webhook receiver and an SMTP server.

WebhookReceiver records the POSTs apprise's json:// and form:// send (parsed JSON, or form fields) and
can be told to answer an error status for the next N requests (it counts every request it got). SmtpServer
(aiosmtpd) records every message, can refuse given recipients (550), and can be stopped and started again on
the same port ("down for a cycle, then up"): stop() closes the port (connection refused), go_down() leaves
a port that drops every connection and counts them (how many times a deliverer tried).
"""
from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

from loopback import QuietHTTPServer


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    path: str
    content_type: str
    raw: bytes
    data: dict = field(default_factory=dict)   # the JSON object, or the form's fields (first values)


def _parse(content_type: str, raw: bytes) -> dict:
    if "json" in content_type:
        return json.loads(raw or b"{}")
    if "multipart/form-data" in content_type:
        msg = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw,
                                       policy=email.policy.default)
        return {part.get_param("name", header="content-disposition"): part.get_content()
                for part in msg.iter_parts()}
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}


class WebhookReceiver:
    """A stdlib HTTP server in a thread on 127.0.0.1 that records POSTed notifications."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.attempts = 0                # every POST, answered 200 or not
        self._fail: list[int] = []       # statuses to answer, one per coming request
        self.always: int | None = None   # answer this status to every request (a lasting outage)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                with receiver._lock:
                    receiver.attempts += 1
                    status = receiver._fail.pop(0) if receiver._fail else (receiver.always or 200)
                    if status == 200:
                        receiver.requests.append(Received(self.path, ctype, raw, _parse(ctype, raw)))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"error")

            def log_message(self, *args):  # quiet
                pass

        self.server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, scheme: str = "json", path: str = "/hook") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer status (not recorded) to the next n requests."""
        with self._lock:
            self._fail.extend([status] * n)

    @property
    def payloads(self) -> list[dict]:
        return [r.data for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Recorder:
    def __init__(self, messages: list, refused: set[str]):
        self.messages = messages
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:port (no TLS, no auth), recording (mail_from, rcpt_tos, EmailMessage)."""

    def __init__(self, port: int | None = None, refused: set[str] = frozenset()) -> None:
        self.port = port or free_port()
        self.messages: list = []
        self.refused = set(refused)      # recipients answered 550
        self.dropped = 0                 # connections dropped while down (go_down)
        self._controller: Controller | None = None
        self._dead: socket.socket | None = None

    def start(self) -> None:
        self._close_dead_port()
        self._controller = Controller(_Recorder(self.messages, self.refused), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._close_dead_port()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def go_down(self) -> None:
        """Down, but its port still accepts connections and drops them at once, counting them in .dropped:
        a mail server whose process is gone behind a proxy, and a way to count a deliverer's attempts."""
        self.stop()
        dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        dead.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        dead.bind(("127.0.0.1", self.port))
        dead.listen(16)
        self._dead = dead

        def drop():
            while True:
                try:
                    conn, _ = dead.accept()
                except OSError:   # closed: up again
                    return
                self.dropped += 1
                conn.close()

        threading.Thread(target=drop, name="smtp-down", daemon=True).start()

    def _close_dead_port(self) -> None:
        if self._dead is not None:
            try:
                self._dead.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._dead.close()
            self._dead = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def url(self, to: str = "me@example.org", sender: str = "bot@example.com", **params) -> str:
        query = "&".join([f"from={sender}", f"to={to}", "cto=2", *(f"{k}={v}" for k, v in params.items())])
        return f"mailto://127.0.0.1:{self.port}?{query}"

    @staticmethod
    def text_of(msg) -> str:
        """Every text part of a message (plain and HTML), concatenated."""
        parts = msg.walk() if msg.is_multipart() else [msg]
        return "\n".join(p.get_content() for p in parts if p.get_content_maintype() == "text")
