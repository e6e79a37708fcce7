"""Credentials from call metadata (an API key as a bearer token, and the project id), and
who is calling, for the domain's authenticator."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from recallr_server.domain.auth import (
    Authenticator,
    caller_of,
    credential_duplicated,
    credential_missing,
)
from recallr_server.domain.errors import DomainError

AUTHORIZATION_KEY = "authorization"
PROJECT_ID_KEY = "x-recallr-project-id"
_BEARER = "bearer "
_CREDENTIAL_KEYS = (AUTHORIZATION_KEY, PROJECT_ID_KEY)


def _missing(key: str) -> DomainError:
    return credential_missing(key, f"call metadata {key!r}")


def _duplicated(key: str) -> DomainError:
    return credential_duplicated(key, f"call metadata {key!r}")


def peer_address(peer: str) -> str:
    """The address in a gRPC peer string ("ipv4:10.0.0.7:50432", "ipv6:[::1]:50432");
    other peers (a Unix socket) are their own string."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    if kind == "ipv6":
        return rest.rpartition(":")[0].strip("[]")
    return peer


async def project_of_call(
    authenticator: Authenticator, metadata: Sequence[tuple[str, str | bytes]], peer: str
) -> str:
    """The project the call's key opens, if it is the one the call names."""
    counts = Counter(k.lower() for k, _ in metadata)
    for key in _CREDENTIAL_KEYS:
        if counts[key] > 1:
            raise _duplicated(key)
    values = {k.lower(): v for k, v in metadata if isinstance(v, str)}
    authorization = values.get(AUTHORIZATION_KEY, "")
    if not authorization.lower().startswith(_BEARER) or not authorization[len(_BEARER) :]:
        raise _missing(AUTHORIZATION_KEY)
    project_id = values.get(PROJECT_ID_KEY, "")
    if not project_id:
        raise _missing(PROJECT_ID_KEY)
    api_key = authorization[len(_BEARER) :].strip()
    return await authenticator.authenticate(api_key, project_id, caller_of(peer_address(peer)))
