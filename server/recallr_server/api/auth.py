"""Credentials from call metadata: an API key as a bearer token, and the project id."""

from __future__ import annotations

from collections.abc import Sequence

from recallr_server.domain.auth import Authenticator
from recallr_server.domain.errors import DomainError, Reason

AUTHORIZATION_KEY = "authorization"
PROJECT_ID_KEY = "x-recallr-project-id"
_BEARER = "bearer "


def _missing(key: str) -> DomainError:
    return DomainError(
        Reason.AUTHENTICATION_REQUIRED,
        f"call metadata {key!r} is required",
        metadata={"missing": key},
    )


async def project_of_call(
    authenticator: Authenticator, metadata: Sequence[tuple[str, str | bytes]]
) -> str:
    """The project the call's key opens, if it is the one the call names."""
    values = {k.lower(): v for k, v in metadata if isinstance(v, str)}
    authorization = values.get(AUTHORIZATION_KEY, "")
    if not authorization.lower().startswith(_BEARER) or not authorization[len(_BEARER) :]:
        raise _missing(AUTHORIZATION_KEY)
    project_id = values.get(PROJECT_ID_KEY, "")
    if not project_id:
        raise _missing(PROJECT_ID_KEY)
    return await authenticator.authenticate(authorization[len(_BEARER) :].strip(), project_id)
