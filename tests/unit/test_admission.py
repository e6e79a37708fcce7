"""A stopping server refuses new calls with UNAVAILABLE until they stop arriving."""

from __future__ import annotations

import asyncio
import time

import pytest

from recallr_server.api.admission import QUIET_SECONDS, Admission
from recallr_server.domain.errors import DomainError, Reason


def test_calls_are_admitted_while_the_server_runs() -> None:
    admission = Admission()
    admission.admit()


async def test_once_stopping_every_new_call_is_refused_as_unavailable() -> None:
    admission = Admission()
    await admission.refuse_until_quiet(limit_seconds=5.0)
    with pytest.raises(DomainError) as refused:
        admission.admit()
    assert refused.value.reason is Reason.SERVICE_UNAVAILABLE


async def test_stopping_waits_for_a_quiet_spell_after_the_last_call() -> None:
    admission = Admission()
    stopping = asyncio.create_task(admission.refuse_until_quiet(limit_seconds=30.0))
    started = time.monotonic()
    for _ in range(5):
        await asyncio.sleep(QUIET_SECONDS / 2)
        assert not stopping.done()
        with pytest.raises(DomainError):
            admission.admit()
    await stopping
    assert time.monotonic() - started >= 5 * QUIET_SECONDS / 2 + QUIET_SECONDS


async def test_calls_that_never_stop_arriving_hold_it_no_longer_than_its_limit() -> None:
    admission = Admission()
    stopping = asyncio.create_task(admission.refuse_until_quiet(limit_seconds=QUIET_SECONDS * 3))
    await asyncio.sleep(0)
    started = time.monotonic()
    while not stopping.done():
        with pytest.raises(DomainError):
            admission.admit()
        await asyncio.sleep(QUIET_SECONDS / 10)
    assert time.monotonic() - started < 30 * QUIET_SECONDS
