"""The bench's load generator (vegeta, built from the Go module proxy) against a real local HTTP server."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cqrs.bench.loadgen import Request, Target, attack, open_loop_argv, summarize_open_loop, write_json_targets

POSTED: list[tuple[str, str, dict[str, object]]] = []
"""(path, Idempotency-Key, JSON body) of every POST the server received."""


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

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        POSTED.append((self.path, self.headers["Idempotency-Key"], body))
        self.send_response(202 if self.headers.get("Authorization") == "Bearer secret" else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

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


def test_open_loop_attack_sends_each_json_target_once_at_the_rate(server_url: str, tmp_path: Path) -> None:
    POSTED.clear()
    requests = [
        Request("POST", f"/commands/{n}", {"Idempotency-Key": f"key-{n}"}, json.dumps({"n": n}).encode())
        for n in range(30)
    ]
    targets, results = tmp_path / "targets.jsonl", tmp_path / "results.bin"
    assert write_json_targets(targets, server_url, requests) == 30

    # 20/s for 3 s would be 60 requests: the file holds 30, and no target may be sent twice.
    subprocess.run(open_loop_argv(targets, results, rate=20, seconds=3, token="secret"), check=True, timeout=30)
    result = summarize_open_loop(results)

    assert result.status_codes == {"202": 30}
    assert sorted(POSTED, key=lambda posted: int(posted[1].split("-")[1])) == [
        (f"/commands/{n}", f"key-{n}", {"n": n}) for n in range(30)
    ]
    assert 15 <= result.sent_rate <= 25  # open loop at the offered rate, not as fast as answers come
    assert 0 < result.throughput <= result.sent_rate + 1
