"""The bench's load generator (vegeta, built from the Go module proxy) against a real local HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cqrs.bench.loadgen import Target, attack


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as vegeta's clients use it

    def do_GET(self) -> None:
        authorized = self.headers.get("Authorization") == "Bearer secret" and self.headers.get("X-Probe") == "yes"
        status = 200 if self.path == "/ok" and authorized else 404
        body = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_attack_counts_requests_statuses_and_latencies(server_url: str) -> None:
    targets = [Target("/ok", {"X-Probe": "yes"}), Target("/missing", {"X-Probe": "yes"})]

    result = attack(server_url, targets, clients=4, seconds=1.0, token="secret")

    assert result.requests > 10
    assert set(result.status_codes) == {"200", "404"}
    # Round robin over the two targets: each got about half of the requests.
    assert abs(result.status_codes["200"] - result.status_codes["404"]) <= 4
    assert result.errors == result.status_codes["404"]
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms
    assert result.rate > 0
