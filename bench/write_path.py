"""AddMessage throughput at 64 in flight, beside a bare grpc.aio echo server in the same run.

    .venv/bin/python -m bench.write_path [--seconds 5] [--rounds 3] [--in-flight 64]
        [--baseline-server ../main/.venv/bin/recallr-server]

One client process (grpc.aio) keeps 64 AddMessage calls in flight against a real
`recallr-server serve` (every core: RECALLR_PROCESSES left at its default), and the same
loop against an echo server that answers each call with its request bytes: the ratio of
the two rates says how close AddMessage comes to what gRPC in Python can do here. Each
figure is the median of `--rounds` windows, alternating with the echo server's, so both see
the same machine. Scenarios: SQLite and PostgreSQL (fsync and synchronous_commit on), the
64 sessions of 64 users or of one user; on PostgreSQL also one `serve` process against two
replicas (two single-process `serve`s on one database, the client split between them).
With `--baseline-server`, another checkout's server runs the same scenarios first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench.load import ECHO_METHOD, Load, closed_loop, echo_server, raw_method
from bench.server_process import API_KEY, PROJECT_ID, SERVER, running_server
from recallr.v1 import session_pb2, user_pb2
from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_service_pb2 as users_pb
from tests.api.wire import stubs
from tests.support.postgres import ThrowawayPostgres

ADD_MESSAGE = "/recallr.v1.SessionService/AddMessage"
METADATA = (("authorization", f"Bearer {API_KEY}"), ("x-recallr-project-id", PROJECT_ID))


@dataclass(frozen=True)
class Options:
    seconds: float
    rounds: int
    in_flight: int
    warmup: float = 1.0


def chats(target: str, users: int, sessions: int) -> list[tuple[str, str]]:
    """(user id, session id) of `sessions` new pending sessions spread over `users` users."""
    run = uuid.uuid4().hex[:8]
    with grpc.insecure_channel(target) as channel:
        api = stubs(channel)
        user_ids = [f"{run}-user{n}" for n in range(users)]
        for user_id in user_ids:
            api.users.CreateUser(
                users_pb.CreateUserRequest(user=user_pb2.User(user_id=user_id)), metadata=METADATA
            )
        return [
            (
                user_id := user_ids[n % users],
                api.sessions.CreateSession(
                    sessions_pb.CreateSessionRequest(
                        user_id=user_id, session=session_pb2.Session()
                    ),
                    metadata=METADATA,
                ).session.session_id,
            )
            for n in range(sessions)
        ]


def requests(sessions: list[tuple[str, str]]) -> Callable[[int], bytes]:
    run = uuid.uuid4().hex[:8]

    def request(n: int) -> bytes:
        user_id, session_id = sessions[n % len(sessions)]
        return sessions_pb.AddMessageRequest(
            user_id=user_id,
            session_id=session_id,
            message=session_pb2.Message(
                role=session_pb2.MESSAGE_ROLE_USER, content=f"Message {n} of the write bench."
            ),
            request_id=f"{run}-{n}",
        ).SerializeToString()

    return request


async def measure(
    targets: list[str], method: str, request: Callable[[int], bytes], options: Options
) -> Load:
    """One window of `options.in_flight` calls split evenly over `targets`."""
    channels = [grpc.aio.insecure_channel(t) for t in targets]
    try:
        calls = [raw_method(c, method) for c in channels]

        async def call(n: int) -> object:
            return await calls[n % len(calls)](request(n), metadata=METADATA, timeout=30)

        return await closed_loop(call, options.in_flight, options.seconds, options.warmup)
    finally:
        for channel in channels:
            await channel.close()


def median_load(loads: list[Load]) -> Load:
    ordered = sorted(loads, key=lambda load: load.rate)
    middle = ordered[len(ordered) // 2]
    return Load(
        middle.calls,
        middle.seconds,
        statistics.median(x.p50 for x in loads),
        statistics.median(x.p99 for x in loads),
        sum(x.failures for x in loads),
    )


def compare(
    echo: str, targets: list[str], sessions: list[tuple[str, str]], options: Options
) -> tuple[Load, Load]:
    """(AddMessage, echo): medians of rounds that alternate between the two."""
    request = requests(sessions)
    added, echoed = [], []
    for _ in range(options.rounds):
        echoed.append(asyncio.run(measure([echo], ECHO_METHOD, request, options)))
        added.append(asyncio.run(measure(targets, ADD_MESSAGE, request, options)))
    return median_load(added), median_load(echoed)


def report(name: str, added: Load, echoed: Load) -> None:
    print(f"  {name}")
    print(f"    AddMessage {added.line()}")
    print(f"    echo       {echoed.line()}")
    print(f"    ratio to echo {added.rate / echoed.rate:.2f}")


@contextlib.contextmanager
def servers(url: str, server: Path, replicas: int, processes: str) -> Iterator[list[str]]:
    env = {"RECALLR_PROCESSES": processes}
    with contextlib.ExitStack() as stack:
        targets = [
            stack.enter_context(
                running_server(
                    url, in_process_workers=1, worker_processes=0, extra_env=env, server=server
                )
            )[0]
            for _ in range(replicas)
        ]
        yield targets


def backend_scenarios(
    echo: str, url: Callable[[], str], server: Path, label: str, options: Options
) -> None:
    for users in (64, 1):
        with servers(url(), server, 1, "0") as targets:
            sessions = chats(targets[0], users, 64)
            added, echoed = compare(echo, targets, sessions, options)
        report(f"{label}, 64 sessions of {users} user(s)", added, echoed)


def replica_scenarios(echo: str, url: Callable[[], str], server: Path, options: Options) -> None:
    rates = {}
    for replicas in (1, 2):
        with servers(url(), server, replicas, "1") as targets:
            sessions = chats(targets[0], 64, 64)
            added, echoed = compare(echo, targets, sessions, options)
        report(f"PostgreSQL, {replicas} single-process replica(s), 64 users", added, echoed)
        rates[replicas] = added.rate
    print(f"  two replicas / one: {rates[2] / rates[1]:.2f}")


def run(server: Path, label: str, options: Options, scratch: Path) -> None:
    print(f"{label}: {server}")
    with echo_server() as echo, ThrowawayPostgres(durable=True) as postgres:
        backend_scenarios(
            echo, lambda: f"sqlite:///{scratch / uuid.uuid4().hex}.db", server, "SQLite", options
        )

        def database() -> str:
            return postgres.create_database(f"bench_{uuid.uuid4().hex[:8]}")

        backend_scenarios(echo, database, server, "PostgreSQL", options)
        replica_scenarios(echo, database, server, options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--baseline-server", type=Path, help="another checkout's recallr-server")
    args = parser.parse_args()
    options = Options(args.seconds, args.rounds, args.in_flight)
    with tempfile.TemporaryDirectory() as scratch:
        if args.baseline_server:
            run(args.baseline_server, "baseline", options, Path(scratch))
        run(SERVER, "this checkout", options, Path(scratch))


if __name__ == "__main__":
    main()
