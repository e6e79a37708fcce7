"""A gRPC proxy that loses the first answer of each method, as a dropped connection would."""

from __future__ import annotations

from collections import Counter
from typing import Any

import grpc
from google.protobuf import descriptor_pool

# gRPC sets these itself on the proxy's own call; everything else is the caller's.
_NOT_FORWARDED = ("user-agent", "grpc-")


class LossyProxy:
    """Forwards each unary call to `upstream` and relays its answer, except that it loses
    the first answer of each method: the server has acted, and the caller gets UNAVAILABLE.

    Runs on the event loop that calls `start`; `attempts` counts the calls per method name.
    Streaming methods are not proxied (they fail with UNIMPLEMENTED).
    """

    def __init__(self, upstream: str) -> None:
        self._upstream_target = upstream
        self.attempts: Counter[str] = Counter()
        self.target = ""

    async def start(self) -> None:
        self._upstream = grpc.aio.insecure_channel(self._upstream_target)
        self._server = grpc.aio.server()
        self._server.add_generic_rpc_handlers((_UnaryHandler(self),))
        port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        self.target = f"127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._server.stop(grace=None)
        await self._upstream.close()

    async def forward(
        self, method: str, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> bytes:
        name = method.rsplit("/", 1)[-1]
        self.attempts[name] += 1
        metadata = tuple(
            (key, value)
            for key, value in context.invocation_metadata() or ()
            if not key.startswith(_NOT_FORWARDED)
        )
        try:
            relay: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]
            relay = self._upstream.unary_unary(method)
            response = await relay(request, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            await context.abort(error.code(), error.details() or "", error.trailing_metadata())
        if self.attempts[name] == 1:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the proxy lost the answer")
        return response


class _UnaryHandler(grpc.GenericRpcHandler):
    def __init__(self, proxy: LossyProxy) -> None:
        self._proxy = proxy

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        method: str = handler_call_details.method
        service, name = method.strip("/").split("/")
        described = descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]
        if described.client_streaming or described.server_streaming:
            return None

        async def forward(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            return await self._proxy.forward(method, request, context)

        return grpc.unary_unary_rpc_method_handler(forward)
