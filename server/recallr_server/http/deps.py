"""What every route takes: the use cases, and the project the call's key opens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader

from recallr_server.domain.auth import (
    Authenticator,
    caller_of,
    credential_duplicated,
    credential_missing,
)
from recallr_server.domain.context import ContextRecall
from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.memories import Memories
from recallr_server.domain.merge_conflicts import MergeConflicts
from recallr_server.domain.messages import Messages
from recallr_server.domain.sessions import Sessions
from recallr_server.domain.users import Users
from recallr_server.domain.validation import MAX_PAGE_SIZE
from recallr_server.http.errors import HTTP_ERRORS
from recallr_server.http.schemas import Error

API_KEY_HEADER = "X-Recallr-Api-Key"
PROJECT_ID_HEADER = "X-Recallr-Project-Id"
# Past this, the database's 64-bit OFFSET plus a page could overflow.
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class UseCases:
    """The domain's use cases, the same ones the gRPC servicers call."""

    authenticator: Authenticator
    users: Users
    sessions: Sessions
    messages: Messages
    memories: Memories
    conflicts: MergeConflicts
    recall: ContextRecall


def use_cases(request: Request) -> UseCases:
    cases: UseCases = request.app.state.use_cases
    return cases


_api_key = APIKeyHeader(name=API_KEY_HEADER, scheme_name="ApiKey", auto_error=False)
_project_id = APIKeyHeader(name=PROJECT_ID_HEADER, scheme_name="ProjectId", auto_error=False)


def _missing(header: str) -> DomainError:
    return credential_missing(header, f"header {header}")


def _duplicated(header: str) -> DomainError:
    return credential_duplicated(header, f"header {header}")


async def project_of(
    request: Request,
    cases: Annotated[UseCases, Depends(use_cases)],
    api_key: Annotated[str | None, Depends(_api_key)],
    project_id: Annotated[str | None, Depends(_project_id)],
) -> str:
    """The project the call's key opens, if it is the one the call names."""
    for header in (API_KEY_HEADER, PROJECT_ID_HEADER):
        if len(request.headers.getlist(header)) > 1:
            raise _duplicated(header)
    if not api_key:
        raise _missing(API_KEY_HEADER)
    if not project_id:
        raise _missing(PROJECT_ID_HEADER)
    caller = caller_of(request.client.host if request.client is not None else "")
    return await cases.authenticator.authenticate(api_key, project_id, caller)


Cases = Annotated[UseCases, Depends(use_cases)]
Project = Annotated[str, Depends(project_of)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def limit(default: int) -> Any:
    return Query(default, ge=1, le=MAX_PAGE_SIZE)


def responses(*reasons: Reason) -> dict[int | str, dict[str, Any]]:
    """The failures a route documents: those of every route, and the reasons it names."""
    common = (Reason.INVALID_API_KEY, Reason.VALIDATION_FAILED, Reason.INTERNAL)
    documented: dict[int | str, dict[str, Any]] = {}
    for reason in (*common, *reasons):
        documented[HTTP_ERRORS[reason].status] = {"model": Error}
    return documented
