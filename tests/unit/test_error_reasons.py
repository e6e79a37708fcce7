"""The domain's reasons are exactly the contract's, and each has its gRPC code."""

from __future__ import annotations

from recallr.v1.error_reason_pb2 import ErrorReason
from recallr_server.api.status import REASON_CODES
from recallr_server.domain.errors import Reason


def _contract_reasons() -> set[str]:
    return {
        value.name.removeprefix("ERROR_REASON_")
        for value in ErrorReason.DESCRIPTOR.values
        if value.number != 0
    }


def test_domain_reasons_are_the_contracts() -> None:
    assert {reason.value for reason in Reason} == _contract_reasons()


def test_every_reason_has_a_status_code() -> None:
    assert set(REASON_CODES) == set(Reason)
