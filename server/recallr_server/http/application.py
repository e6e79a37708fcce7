"""The FastAPI application: the routes, the error table applied to every failure, and
one log line and one metric sample per request."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recallr_server import metrics
from recallr_server.domain.errors import DomainError, Reason, ValidationFailed
from recallr_server.http import conflicts, context, routes
from recallr_server.http.deps import UseCases
from recallr_server.http.errors import body_of, headers_of, status_of

log = logging.getLogger("recallr.http")

REQUEST_ID_HEADER = "x-request-id"
# The SDK reads exactly this text as "wrong base_url" (a connection error), not as a
# missing user.
UNKNOWN_ROUTE_TEXT = "404 page not found"
TITLE = "Recallr HTTP API"
VERSION = "v1"


async def _domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    request.state.reason = error.reason.value
    return JSONResponse(
        body_of(error, request.path_params), status_of(error), headers=headers_of(error)
    )


async def _invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    violations = [
        (".".join(str(part) for part in item.get("loc", ())), str(item.get("msg", "")))
        for item in error.errors()
    ]
    return await _domain_error(request, ValidationFailed(violations or [("request", "invalid")]))


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return PlainTextResponse(UNKNOWN_ROUTE_TEXT, 404)
    return PlainTextResponse(str(error.detail), error.status_code, headers=error.headers)


async def _unexpected(request: Request, error: Exception) -> Response:
    request_id = getattr(request.state, "request_id", "")
    log.exception("unexpected failure", extra={"request_id": request_id})
    internal = DomainError(
        Reason.INTERNAL,
        f"internal error; the server logged it under request id {request_id}",
        metadata={"request_id": request_id},
    )
    return await _domain_error(request, internal)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


class Observe:
    """Gives each request an id and, once it is answered, one log line and one sample.

    The log names the route's template, never its path or query, which hold user ids,
    filters and keys.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = given if 0 < len(given) <= 128 else uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._app(scope, receive, sending)
        except Exception:
            state["reason"] = Reason.INTERNAL.value
            raise
        finally:
            route = scope.get("route")
            name = f"{scope['method']} {getattr(route, 'path', '(unknown route)')}"
            reason = state.get("reason", "")
            seconds = time.perf_counter() - started
            log.info(
                "http %s %d %s %.1fms",
                name,
                status,
                reason,
                seconds * 1000,
                extra={
                    "request_id": request_id,
                    "rpc_method": name,
                    "outcome": reason or str(status),
                },
            )
            metrics.http_finished(name, status, reason, seconds)


def build(cases: UseCases | None) -> FastAPI:
    """The application over `cases`; None builds one only to describe (openapi.py)."""
    app = FastAPI(
        title=TITLE,
        version=VERSION,
        description="The RecallrAI HTTP API (official Python SDK 0.6.6), served by Recallr.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.use_cases = cases
    for router in (routes.router, conflicts.router, context.router):
        app.include_router(router)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(Observe)
    return app
