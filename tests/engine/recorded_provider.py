"""An OpenAI-compatible HTTP server on loopback that answers with recorded exchanges.

It replays `fixtures/llm/*.json` in the order queued and keeps what it received,
so tests pin both what the engine makes of a reply and what it sends.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "llm"


@dataclass(frozen=True)
class Received:
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: dict[str, Any]


class RecordedProvider:
    """An OpenAI-compatible server that answers with recorded exchanges, in order."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._replies: deque[dict[str, Any]] = deque()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                provider.received.append(
                    Received(
                        self.path,
                        {name.lower(): value for name, value in self.headers.items()},
                        json.loads(self.rfile.read(length)),
                    )
                )
                exchange: dict[str, Any] = (
                    provider._replies.popleft()
                    if provider._replies
                    else {"status": 404, "headers": {}, "body": {"error": "no recorded reply"}}
                )
                payload = json.dumps(exchange["body"]).encode()
                self.send_response(exchange["status"])
                for name, value in exchange["headers"].items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """The tests read `received`; the console stays quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def queue(self, *fixtures: str) -> None:
        for name in fixtures:
            self._replies.append(json.loads((FIXTURES / f"{name}.json").read_text("utf-8")))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
