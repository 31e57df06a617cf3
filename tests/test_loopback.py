"""The loopback servers the tests use (tests/loopback.py, tests/receivers.py, dealwatch.demo's sample news
site, the evaluation harness's corpus server as tests/paths.py loads it) let a client hang up: a connection reset mid-request (a cycle killed by a test, a client that gave up)
prints no socketserver traceback into the suite's output, and the server goes on answering."""
from __future__ import annotations

import socket
import struct
import time

import httpx
import pytest

from dealwatch.demo import SampleNewsServer
from loopback import LoopbackServer
from paths import DEV_CORPUS, corpus_server_class
from receivers import WebhookReceiver


def reset_connection(port: int, sent: bytes) -> None:
    """Connect, send `sent` (maybe part of a request), then close with RST (SO_LINGER 0), as a killed client."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if sent:
            sock.sendall(sent)
        time.sleep(0.05)   # the handler is reading when the reset arrives
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def loopback_server():
    server = LoopbackServer()
    server.route("/", body=b"<p>ok</p>")
    return server, server.port, lambda: httpx.get(server.url("/")).status_code


def webhook_receiver():
    server = WebhookReceiver()
    return server, server.port, lambda: httpx.post(f"http://127.0.0.1:{server.port}/hook", json={}).status_code


def sample_news():
    server = SampleNewsServer()
    return server, int(server.base_url.rsplit(":", 1)[1]), lambda: httpx.get(server.feed_urls()[0]).status_code


def harness_corpus():
    server = corpus_server_class()(DEV_CORPUS)
    return server, server.port, lambda: httpx.get(server.feed_urls()[0]).status_code


@pytest.mark.parametrize("make", [loopback_server, webhook_receiver, sample_news, harness_corpus])
def test_a_client_resetting_its_connection_prints_nothing_and_the_server_keeps_answering(make, capsys):
    server, port, answered = make()
    try:
        for sent in (b"", b"GET / HTTP/1.1\r\nHost: x\r\n",
                     b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"):
            reset_connection(port, sent)
        time.sleep(0.3)   # the handlers' threads meet the reset
        assert answered() == 200
    finally:
        server.close()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err, err
