"""A reference webhook receiver (the demo and the tests use it), written the way the docs tell receivers to: verify
with the helper, answer 2xx, and act once per `webhook-id`. It can fail the first attempts of every delivery on
purpose, to show retries, or answer slowly (`delay_s`), to show a slow endpoint's deliveries deferred."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from streams.webhooks.verify import WebhookVerificationError, verify


@dataclass(frozen=True, slots=True)
class Effect:
    webhook_id: str
    event: dict[str, Any]


class Receiver:
    def __init__(
        self, secret: str, *, fail_first: int = 0, port: int = 0, delay_s: float = 0.0, host: str = "127.0.0.1"
    ) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.delay_s = delay_s
        self.host_headers: list[str] = []
        """The `Host` header of every request, as sent."""
        self.attempts: Counter[str] = Counter()
        self.successes: Counter[str] = Counter()
        self.effects: list[Effect] = []
        """Applied once per webhook-id, in the order they were applied."""
        self.rejected_signatures = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/orders"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.host_headers.append(headers.get("host", ""))
        if self.delay_s:
            time.sleep(self.delay_s)  # a thread per request: only this request waits
        try:
            verify(self.secret, headers, body)
        except WebhookVerificationError:
            with self._lock:
                self.rejected_signatures += 1
            return 400
        webhook_id = headers["webhook-id"]
        with self._lock:
            self.attempts[webhook_id] += 1
            if self.attempts[webhook_id] <= self.fail_first:
                return 503
            self.successes[webhook_id] += 1
            if self.successes[webhook_id] == 1:  # a duplicate delivery is acknowledged but has no second effect
                self.effects.append(Effect(webhook_id, json.loads(body)))
            return 204

    def effects_for(self, order_ids: set[str]) -> list[Effect]:
        with self._lock:
            return [effect for effect in self.effects if effect.event["aggregateId"] in order_ids]

    def wait_for(self, done: Callable[[], bool], timeout_s: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if done():
                return True
            time.sleep(0.1)
        return done()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.receive({name.lower(): value for name, value in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests assert on what was received."""

    return Handler
