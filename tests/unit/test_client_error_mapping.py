"""The client turns every failed call into the right exception, from status code and ErrorInfo."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from recallr.v1 import error_reason_pb2
from recallrai import exceptions
from recallrai._errors import ERROR_DOMAIN, ERRORS_BY_REASON, error_from_rpc

REASON_PREFIX = "ERROR_REASON_"


def wire_reasons() -> set[str]:
    return {
        value.name.removeprefix(REASON_PREFIX)
        for value in error_reason_pb2.ErrorReason.DESCRIPTOR.values
        if value.number != error_reason_pb2.ERROR_REASON_UNSPECIFIED
    }


def failed_call(code: grpc.StatusCode, message: str, *details: Message) -> grpc.aio.AioRpcError:
    """The error a call raises when the server answers with this status and these details."""
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    status = rpc_status.to_status(
        status_pb2.Status(code=code.value[0], message=message, details=packed)
    )
    return grpc.aio.AioRpcError(
        status.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*status.trailing_metadata),
        status.details,
    )


def error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)


def test_every_error_reason_has_an_exception() -> None:
    assert wire_reasons() - set(ERRORS_BY_REASON) == set()


def test_the_table_names_only_reasons_the_api_defines() -> None:
    assert set(ERRORS_BY_REASON) - wire_reasons() == set()


def test_reason_decides_the_class_and_is_exposed() -> None:
    error = error_from_rpc(
        failed_call(
            grpc.StatusCode.NOT_FOUND, "no user 'bob'", error_info("USER_NOT_FOUND", user_id="bob")
        )
    )
    assert type(error) is exceptions.UserNotFoundError
    assert error.code is grpc.StatusCode.NOT_FOUND
    assert error.reason == "USER_NOT_FOUND"
    assert error.metadata == {"user_id": "bob"}
    assert str(error) == "no user 'bob' [NOT_FOUND USER_NOT_FOUND]"


def test_invalid_categories_are_listed() -> None:
    error = error_from_rpc(
        failed_call(
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown categories",
            error_info("INVALID_CATEGORIES", invalid_categories="food,pets"),
        )
    )
    assert isinstance(error, exceptions.InvalidCategoriesError)
    assert error.invalid_categories == ["food", "pets"]


def test_rate_limit_takes_the_delay_from_retry_info() -> None:
    error = error_from_rpc(
        failed_call(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "slow down",
            error_info("RATE_LIMITED", retry_after_seconds="9"),
            error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=5**9)),
        )
    )
    assert isinstance(error, exceptions.RateLimitError)
    assert error.retry_after == pytest.approx(2 + 5**9 / 1e9)


def test_rate_limit_without_retry_info_reads_the_metadata() -> None:
    error = error_from_rpc(
        failed_call(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "slow down",
            error_info("RATE_LIMITED", retry_after_seconds="7"),
        )
    )
    assert isinstance(error, exceptions.RateLimitError)
    assert error.retry_after == 7.0


def test_validation_failure_is_a_value_error_with_its_field_violations() -> None:
    violation = error_details_pb2.BadRequest.FieldViolation(field="limit", description="1..200")
    error = error_from_rpc(
        failed_call(
            grpc.StatusCode.INVALID_ARGUMENT,
            "limit out of range",
            error_info("VALIDATION_FAILED", field="limit"),
            error_details_pb2.BadRequest(field_violations=[violation]),
        )
    )
    assert isinstance(error, exceptions.ValidationError)
    assert isinstance(error, ValueError)
    assert error.field_violations == [("limit", "1..200")]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (grpc.StatusCode.DEADLINE_EXCEEDED, exceptions.TimeoutError),
        (grpc.StatusCode.UNAVAILABLE, exceptions.ConnectionError),
        (grpc.StatusCode.UNAUTHENTICATED, exceptions.AuthenticationError),
        (grpc.StatusCode.OUT_OF_RANGE, exceptions.ValidationError),
        (grpc.StatusCode.UNIMPLEMENTED, exceptions.UnimplementedError),
        (grpc.StatusCode.UNKNOWN, exceptions.InternalServerError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, exceptions.ServerError),
        (grpc.StatusCode.ABORTED, exceptions.ServerError),
    ],
)
def test_status_without_error_info_is_classified_by_code(
    code: grpc.StatusCode, expected: type[exceptions.RecallrAIError]
) -> None:
    error = error_from_rpc(grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata()))
    assert type(error) is expected
    assert error.code is code
    assert error.reason is None


def test_error_info_of_another_domain_does_not_pick_the_class() -> None:
    foreign = error_details_pb2.ErrorInfo(reason="USER_NOT_FOUND", domain="proxy.example")
    error = error_from_rpc(failed_call(grpc.StatusCode.NOT_FOUND, "route not found", foreign))
    assert type(error) is exceptions.ServerError
    assert error.reason is None


# The HTTP status the official SDK (0.6.6) turns into each of its exceptions.
OFFICIAL_STATUS: dict[type[exceptions.RecallrAIError], int] = {
    exceptions.AuthenticationError: 401,
    exceptions.ValidationError: 422,
    exceptions.InternalServerError: 500,
    exceptions.RateLimitError: 429,
    exceptions.UserNotFoundError: 404,
    exceptions.SessionNotFoundError: 404,
    exceptions.MergeConflictNotFoundError: 404,
    exceptions.UserAlreadyExistsError: 409,
    exceptions.InvalidSessionStateError: 400,
    exceptions.InvalidCategoriesError: 400,
    exceptions.MergeConflictAlreadyResolvedError: 400,
    exceptions.MergeConflictInvalidQuestionsError: 400,
    exceptions.MergeConflictMissingAnswersError: 400,
    exceptions.MergeConflictInvalidAnswerError: 400,
}


@pytest.mark.parametrize("reason", sorted(ERRORS_BY_REASON))
def test_each_reason_carries_the_http_status_the_official_sdk_raises_its_class_for(
    reason: str,
) -> None:
    mapped = ERRORS_BY_REASON[reason]
    error = error_from_rpc(failed_call(grpc.StatusCode.UNKNOWN, "failed", error_info(reason)))
    assert (type(error), error.http_status) == (mapped.error, mapped.http_status)
    if mapped.error in OFFICIAL_STATUS:
        assert mapped.http_status == OFFICIAL_STATUS[mapped.error]


@pytest.mark.parametrize(
    ("code", "reason", "http_status"),
    [
        (grpc.StatusCode.DEADLINE_EXCEEDED, None, 0),
        (grpc.StatusCode.UNAVAILABLE, None, 0),
        # The server answered that it is shutting down.
        (grpc.StatusCode.UNAVAILABLE, "SERVICE_UNAVAILABLE", 503),
    ],
)
def test_http_status_is_0_only_when_no_server_answered(
    code: grpc.StatusCode, reason: str | None, http_status: int
) -> None:
    details = [error_info(reason)] if reason is not None else []
    error = error_from_rpc(failed_call(code, "unavailable", *details))
    assert isinstance(error, exceptions.NetworkError)
    assert error.http_status == http_status


def test_invalid_categories_take_the_official_constructor() -> None:
    error = exceptions.InvalidCategoriesError("unknown categories", 400, ["zodiac"])
    assert (error.message, error.http_status, error.invalid_categories) == (
        "unknown categories",
        400,
        ["zodiac"],
    )
    assert str(exceptions.AuthenticationError()) == "Invalid API key or authentication failed."
    assert exceptions.AuthenticationError().http_status == 401
