"""1,000 idle live tails: server CPU, GetUser latency and tail delivery, beside no tails.

    .venv/bin/python -m bench.live_tails [--tails 1000] [--users 100]
        [--baseline-server ../main/.venv/bin/recallr-server]

On SQLite and on PostgreSQL, a real `recallr-server serve` (every core) is measured twice
in one run: with no tail open, then with `--tails` following TailMessages streams open
(spread over `--users` users and 20 connections) and idle. Each time: the CPU the server's
processes use over an idle window (percent of one core), and GetUser round trips (p50).
Then, tails still open, messages are added one at a time to users the tails follow, and
each tail's delivery time is taken from just before the AddMessage call to the message's
arrival on that tail. With `--baseline-server`, another checkout's server runs it first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench.server_process import SERVER, running_server, tree_cpu_seconds
from bench.write_path import METADATA, chats
from recallr.v1 import (
    session_pb2,
    session_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)
from recallr.v1 import session_service_pb2 as sessions_pb
from tests.support.postgres import ThrowawayPostgres

CONNECTIONS = 20
IDLE_SECONDS = 10.0
GET_USER_CALLS = 300
DELIVERIES = 30
# Lets every process finish starting (the worker loads its models) before measuring.
SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class Quiet:
    cpu_percent: float
    get_user_p50: float


async def quiet(pid: int, target: str, user_id: str) -> Quiet:
    """The server's CPU over an idle window, then GetUser round trips one at a time."""
    before, started = tree_cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(IDLE_SECONDS)
    cpu = (tree_cpu_seconds(pid) - before) / (time.monotonic() - started) * 100
    async with grpc.aio.insecure_channel(target) as channel:
        users = user_service_pb2_grpc.UserServiceStub(channel)
        request = user_service_pb2.GetUserRequest(user_id=user_id)
        times = []
        for _ in range(GET_USER_CALLS):
            began = time.perf_counter()
            await users.GetUser(request, metadata=METADATA)
            times.append(time.perf_counter() - began)
    return Quiet(cpu, statistics.median(times))


class Tails:
    """Following tails, each noting when every message reached it."""

    def __init__(self, target: str, user_ids: list[str], count: int) -> None:
        self._channels = [grpc.aio.insecure_channel(target) for _ in range(CONNECTIONS)]
        self.users = user_ids
        self.arrivals: dict[str, list[float]] = {}
        self._count = count
        self._tasks: list[asyncio.Task[None]] = []
        self._opened = 0
        self._changed = asyncio.Event()

    async def open(self) -> None:
        for n in range(self._count):
            stub = session_service_pb2_grpc.SessionServiceStub(self._channels[n % CONNECTIONS])
            request = sessions_pb.TailMessagesRequest(user_id=self.user(n), follow=True)
            stream = stub.TailMessages(request, metadata=METADATA)
            self._tasks.append(asyncio.create_task(self._follow(stream)))
        await self._until(lambda: self._opened >= self._count)

    def user(self, n: int) -> str:
        return self.users[n % len(self.users)]

    def following(self, user_id: str) -> int:
        """How many of the tails follow the user."""
        return sum(1 for n in range(self._count) if self.user(n) == user_id)

    async def arrived(self, content: str, tails: int) -> None:
        """Returns once `tails` tails have received the message with this content."""
        await self._until(lambda: len(self.arrivals.get(content, ())) >= tails)

    async def _until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._changed.wait()
            self._changed.clear()

    async def _follow(self, stream: grpc.aio.UnaryStreamCall) -> None:  # type: ignore[type-arg]
        first = True
        async for response in stream:
            if first:
                self._opened += 1
                first = False
            now = time.perf_counter()
            for message in response.messages:
                self.arrivals.setdefault(message.content, []).append(now)
            self._changed.set()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self._channels:
            await channel.close()


async def deliveries(target: str, tails: Tails, sessions: dict[str, str]) -> list[float]:
    """Each tail's delivery time of each of `DELIVERIES` messages, one message at a time."""
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(target) as channel:
        add = session_service_pb2_grpc.SessionServiceStub(channel).AddMessage
        for n in range(DELIVERIES):
            user_id = tails.user(n)
            content = f"delivery {n} {uuid.uuid4().hex[:6]}"
            message = session_pb2.Message(role=session_pb2.MESSAGE_ROLE_USER, content=content)
            request = sessions_pb.AddMessageRequest(
                user_id=user_id, session_id=sessions[user_id], message=message
            )
            sent = time.perf_counter()
            await add(request, metadata=METADATA)
            with contextlib.suppress(TimeoutError):  # a lost message shows in the count
                await asyncio.wait_for(tails.arrived(content, tails.following(user_id)), 10)
            latencies += [arrived - sent for arrived in tails.arrivals.get(content, ())]
            await asyncio.sleep(0.2)  # idle again between messages
    return latencies


async def measure(pid: int, target: str, tail_count: int, user_count: int) -> None:
    sessions = dict(chats(target, user_count, user_count))
    users = list(sessions)
    await asyncio.sleep(SETTLE_SECONDS)
    idle = await quiet(pid, target, users[0])
    tails = Tails(target, users, tail_count)
    await tails.open()
    await asyncio.sleep(SETTLE_SECONDS)
    loaded = await quiet(pid, target, users[0])
    delivered = sorted(await deliveries(target, tails, sessions))
    await tails.close()
    print(
        f"    server CPU, idle:  no tails {idle.cpu_percent:5.1f} %"
        f"   {tail_count} tails {loaded.cpu_percent:5.1f} %"
    )
    print(
        f"    GetUser p50:       no tails {idle.get_user_p50 * 1000:5.2f} ms"
        f"  {tail_count} tails {loaded.get_user_p50 * 1000:5.2f} ms"
        f"  (+{(loaded.get_user_p50 - idle.get_user_p50) * 1000:.2f} ms)"
    )
    if delivered:
        print(
            f"    tail delivery:     p50 {statistics.median(delivered) * 1000:6.1f} ms"
            f"  p99 {delivered[int(0.99 * (len(delivered) - 1))] * 1000:6.1f} ms"
            f"  ({len(delivered)} deliveries of {DELIVERIES} messages"
            f" to {tail_count // user_count} tails each)"
        )


async def run(server: Path, label: str, tails: int, users: int, scratch: Path) -> None:
    print(f"{label}: {server}")
    with ThrowawayPostgres() as postgres:
        urls: list[tuple[str, Callable[[], str]]] = [
            ("SQLite", lambda: f"sqlite:///{scratch / uuid.uuid4().hex}.db"),
            ("PostgreSQL", lambda: postgres.create_database(f"tails_{uuid.uuid4().hex[:8]}")),
        ]
        for backend, url in urls:
            print(f"  {backend}")
            env = {"RECALLR_MAX_TAILS_PER_PROJECT": str(tails)}
            with running_server(
                url(), in_process_workers=1, worker_processes=0, extra_env=env, server=server
            ) as (target, processes):
                await measure(processes[0].pid, target, tails, users)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tails", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--baseline-server", type=Path, help="another checkout's recallr-server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.baseline_server:
            asyncio.run(
                run(args.baseline_server, "baseline", args.tails, args.users, Path(scratch))
            )
        asyncio.run(run(SERVER, "this checkout", args.tails, args.users, Path(scratch)))


if __name__ == "__main__":
    main()
