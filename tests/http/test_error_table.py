"""The HTTP API's error table agrees with the client's, and covers every reason."""

from __future__ import annotations

from recallr_server.domain.errors import Reason
from recallr_server.http.errors import HTTP_ERRORS
from recallrai._errors import ERRORS_BY_REASON


def test_every_reason_has_an_http_answer() -> None:
    assert set(HTTP_ERRORS) == set(Reason)


def test_the_http_statuses_are_the_ones_the_client_reports() -> None:
    served = {reason.value: error.status for reason, error in HTTP_ERRORS.items()}
    reported = {reason: mapped.http_status for reason, mapped in ERRORS_BY_REASON.items()}
    assert served == reported
