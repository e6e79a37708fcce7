"""The server's log line for each call, as tests capture it."""

from __future__ import annotations

import time

import pytest


def call_outcome(caplog: pytest.LogCaptureFixture, method: str, within: float = 5.0) -> str:
    """The outcome logged for a call to `method`. The server logs a call once its handler
    has ended: for a failed call, just after the caller has seen the status."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for record in caplog.records:
            if getattr(record, "rpc_method", None) == method:
                return str(getattr(record, "outcome", None))
        time.sleep(0.02)
    raise AssertionError(f"the server logged no end of {method}")
