"""AddMessage and context recall over the HTTP API and over gRPC, in the same run.

One `recallr-server serve` process on a fresh SQLite file serves both APIs. The gRPC
path is Recallr's client (`recallrai.RecallrAI`); the HTTP path is raw httpx sending
what the official SDK sends (its import name is the client's, so it cannot share this
process). Calls are sequential, alternating the two paths so that the machine's noise
falls on both alike; the figures are medians, and the ratio is HTTP's over gRPC's.

    .venv/bin/python -m bench.http_vs_grpc [--messages 400] [--contexts 60]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

from bench.server_process import API_KEY, PROJECT_ID, free_port, running_server
from recallrai import RecallrAI
from recallrai.models import MessageRole, RecallStrategy


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _post(http: httpx.Client, path: str, body: dict[str, str]) -> None:
    http.post(path, json=body).raise_for_status()


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(messages: int, contexts: int) -> dict[str, tuple[float, float]]:
    http_port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        env = {"RECALLR_HTTP_LISTEN": f"127.0.0.1:{http_port}"}
        with running_server(url, in_process_workers=0, worker_processes=0, extra_env=env) as (
            target,
            _,
        ):
            client = RecallrAI(api_key=API_KEY, project_id=PROJECT_ID, target=target)
            headers = {"X-Recallr-Api-Key": API_KEY, "X-Recallr-Project-Id": PROJECT_ID}
            with (
                client,
                httpx.Client(
                    base_url=f"http://127.0.0.1:{http_port}", headers=headers, timeout=60
                ) as http,
            ):
                user = client.create_user("bench")
                grpc_session = user.create_session(auto_process_after_seconds=0)
                http_session = user.create_session(auto_process_after_seconds=0)
                path = f"/api/v1/users/bench/sessions/{http_session.session_id}"
                timings: dict[str, tuple[list[float], list[float]]] = {
                    "AddMessage": ([], []),
                    "get_context": ([], []),
                }
                for n in range(messages):
                    text = f"Message {n}: I went hiking near lake number {n} last weekend."
                    body = {"message": text, "role": "user"}
                    timings["AddMessage"][0].append(
                        _timed(partial(_post, http, path + "/add-message", body))
                    )
                    timings["AddMessage"][1].append(
                        _timed(
                            partial(grpc_session.add_message, role=MessageRole.USER, content=text)
                        )
                    )
                query = {"recall_strategy": "balanced", "include_system_prompt": "false"}
                for _ in range(contexts):
                    timings["get_context"][0].append(
                        _timed(lambda: http.get(path + "/context", params=query).raise_for_status())
                    )
                    timings["get_context"][1].append(
                        _timed(
                            lambda: grpc_session.get_context(
                                recall_strategy=RecallStrategy.BALANCED, include_system_prompt=False
                            )
                        )
                    )
    return {
        name: (_median_ms(http_samples), _median_ms(grpc_samples))
        for name, (http_samples, grpc_samples) in timings.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--contexts", type=int, default=60)
    args = parser.parse_args()
    results = run(args.messages, args.contexts)
    print("| call | HTTP median (ms) | gRPC median (ms) | HTTP / gRPC |")
    print("|---|---|---|---|")
    for name, (http_ms, grpc_ms) in results.items():
        print(f"| {name} | {http_ms:.2f} | {grpc_ms:.2f} | {http_ms / grpc_ms:.2f} |")


if __name__ == "__main__":
    main()
