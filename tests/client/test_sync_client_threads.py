"""The sync client is shared by threads, as web frameworks' worker threads share it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from recallrai import RecallrAI
from recallrai._sync import _transport
from tests.conftest import Tenant

THREADS = 8


def test_threads_first_calls_open_one_channel(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[grpc.Channel] = []
    real_open = _transport.open_channel  # type: ignore[attr-defined]

    def slow_open(target: str, credentials: grpc.ChannelCredentials | None) -> grpc.Channel:
        # Widens the window in which a second thread could find no channel yet.
        time.sleep(0.05)
        channel = real_open(target, credentials)
        opened.append(channel)
        return channel

    monkeypatch.setattr(_transport, "open_channel", slow_open)
    with RecallrAI(
        api_key=tenant.api_key, project_id=tenant.project_id, target=tenant.target
    ) as client:
        start = threading.Barrier(THREADS)

        def first_call(thread: int) -> None:
            start.wait()
            # Each service's stub is made once, under its own lock: half the threads go
            # through another service, so only the channel is shared between them.
            if thread % 2:
                client.list_categories()
            else:
                client.list_users()

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(first_call, range(THREADS)))
    assert len(opened) == 1
