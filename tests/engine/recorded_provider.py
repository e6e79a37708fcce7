"""An OpenAI-compatible HTTP server on loopback that answers with recorded exchanges.

It replays `fixtures/llm/*.json` (or exchanges a test provides) in the order queued and
keeps what it received, so tests pin both what the engine makes of a reply and what it
sends.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
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


# An exchange: {"status", "headers", "body"}, and optionally "delay" (seconds before the
# answer); or a function of the request that returns one.
Exchange = dict[str, Any] | Callable[[Received], dict[str, Any]]


class RecordedProvider:
    """An OpenAI-compatible server that answers with recorded exchanges, in order."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._replies: deque[Exchange] = deque()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received = Received(
                    self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    json.loads(self.rfile.read(length)),
                )
                provider.received.append(received)
                queued: Exchange = (
                    provider._replies.popleft()
                    if provider._replies
                    else {"status": 404, "headers": {}, "body": {"error": "no recorded reply"}}
                )
                exchange: dict[str, Any] = queued(received) if callable(queued) else queued
                time.sleep(exchange.get("delay", 0))
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

    def provide(self, *exchanges: Exchange) -> None:
        """Queues exchanges a test makes, or functions that make them from the request."""
        self._replies.extend(exchanges)

    def reset(self) -> None:
        """Forgets what was received and drops the replies still queued."""
        self._replies.clear()
        self.received.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def chat_completion(content: str | dict[str, Any], *, delay: float = 0.0) -> dict[str, Any]:
    """An exchange answering a chat completion with `content` (an object is sent as JSON)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return {
        "status": 200,
        "headers": {"Content-Type": "application/json"},
        "body": {
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
        },
        "delay": delay,
    }
