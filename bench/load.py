"""Closed-loop load from one client process, and a bare gRPC echo server to compare with.

`closed_loop` keeps `in_flight` calls outstanding for a fixed time and reports the rate
and latency percentiles of the calls that finished in it. The same client loop drives
Recallr and the echo server, so their rates share one ceiling: what this client process
can send on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

import grpc

from bench.server_process import free_port

ECHO_METHOD = "/bench.Echo/Echo"


@dataclass(frozen=True)
class Load:
    calls: int
    seconds: float
    p50: float
    p99: float
    failures: int

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def line(self) -> str:
        return (
            f"{self.rate:7.0f} calls/s  p50 {self.p50 * 1000:6.1f} ms"
            f"  p99 {self.p99 * 1000:6.1f} ms  ({self.calls} calls, {self.failures} failed)"
        )


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def closed_loop(
    call: Callable[[int], Awaitable[object]], in_flight: int, seconds: float, warmup: float
) -> Load:
    """`in_flight` workers each calling `call(n)` back to back; only calls that start after
    the warm-up and end before its end + `seconds` count."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(10**12))
    start = time.perf_counter() + warmup
    stop = start + seconds

    async def worker() -> None:
        nonlocal failures
        while (began := time.perf_counter()) < stop:
            try:
                await call(next(counter))
            except grpc.aio.AioRpcError:
                failures += began >= start
                continue
            ended = time.perf_counter()
            if began >= start and ended <= stop:
                latencies.append(ended - began)

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return Load(
        len(latencies),
        seconds,
        statistics.median(latencies) if latencies else 0.0,
        percentile(latencies, 0.99),
        failures,
    )


def raw_method(
    channel: grpc.aio.Channel, method: str
) -> grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]:
    """A unary method sending and receiving bytes, so both servers get the same client."""
    return channel.unary_unary(method, request_serializer=None, response_deserializer=None)


@contextlib.contextmanager
def echo_server() -> Iterator[str]:
    """A bare grpc.aio server in its own process that answers every call with its request."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.load", str(port)], env=os.environ)
    try:
        target = f"127.0.0.1:{port}"
        with grpc.insecure_channel(target) as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
        yield target
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _serve_echo(port: int) -> None:
    async def echo(request: bytes, _context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    server = grpc.aio.server()
    handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(echo)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("bench.Echo", {"Echo": handler})]
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(_serve_echo(int(sys.argv[1])))
