"""The request size limit, as the gRPC server has its own (RECALLR_MAX_RECEIVE_MESSAGE_BYTES)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Answers 413 to a request whose body is longer than `max_bytes`, declared or sent.

    The body is read here, before the application sees it: every route takes small
    JSON bodies, and a chunked body has no length to check in advance.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        body = bytearray()
        first: Message = {"type": "http.request", "body": b"", "more_body": True}
        while first.get("more_body", False):
            first = await receive()
            if first["type"] != "http.request":
                break
            body += first.get("body", b"")
            if len(body) > self._max_bytes:
                await _refuse(send, self._max_bytes)
                return
        pending: list[Message] = [
            {"type": "http.request", "body": bytes(body), "more_body": False}
            if first["type"] == "http.request"
            else first
        ]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self._app(scope, replay, send)


async def _refuse(send: Send, max_bytes: int) -> None:
    body = json.dumps(
        {"detail": f"the request body exceeds {max_bytes} bytes", "reason": "MALFORMED_REQUEST"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
