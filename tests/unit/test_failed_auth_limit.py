"""The allowance of failed authentications: per caller, refilled over time, bounded in memory."""

from __future__ import annotations

import pytest

from recallr_server.domain import auth
from recallr_server.domain.auth import FailedAuthLimit, caller_of
from recallr_server.domain.errors import DomainError, Reason


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _spent(limit: FailedAuthLimit, caller: str) -> float | None:
    """The wait the limit asks of `caller`, or None when it may try."""
    try:
        limit.check(caller)
    except DomainError as error:
        refused = error
    else:
        return None
    assert refused.reason == Reason.RATE_LIMITED
    return refused.retry_after_seconds


def test_a_caller_fails_its_allowance_then_once_per_interval() -> None:
    clock = Clock()
    limit = FailedAuthLimit(per_minute=6, clock=clock)
    for _ in range(6):
        assert _spent(limit, "10.0.0.1") is None
        limit.failed("10.0.0.1")
    assert _spent(limit, "10.0.0.1") == pytest.approx(10.0)
    assert _spent(limit, "10.0.0.2") is None
    clock.now += 4
    assert _spent(limit, "10.0.0.1") == pytest.approx(6.0)
    clock.now += 6
    assert _spent(limit, "10.0.0.1") is None
    limit.failed("10.0.0.1")
    assert _spent(limit, "10.0.0.1") == pytest.approx(10.0)


def test_a_limit_of_zero_limits_nothing() -> None:
    limit = FailedAuthLimit(per_minute=0, clock=Clock())
    for _ in range(1000):
        limit.failed("10.0.0.1")
    assert _spent(limit, "10.0.0.1") is None


def test_callers_are_forgotten_once_whole_and_the_table_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auth, "MAX_TRACKED_CALLERS", 3)
    clock = Clock()
    limit = FailedAuthLimit(per_minute=1, clock=clock)
    for caller in ("a", "b", "c", "d"):
        limit.failed(caller)
    # The longest untouched caller made room for the newest.
    assert [_spent(limit, c) is None for c in ("a", "b", "c", "d")] == [True, False, False, False]
    clock.now += 60
    assert [_spent(limit, c) is None for c in ("b", "c", "d")] == [True, True, True]


@pytest.mark.parametrize(
    ("address", "caller"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("unix:/run/recallr.sock", "unix:/run/recallr.sock"),
    ],
)
def test_an_ipv6_caller_is_its_slash_64(address: str, caller: str) -> None:
    assert caller_of(address) == caller
