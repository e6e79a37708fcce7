"""API-key authentication from call metadata, with a short verification cache."""

from __future__ import annotations

import time
from collections.abc import Sequence

from recallr_server.domain.errors import DomainError, Reason
from recallr_server.store.database import Database
from recallr_server.store.projects import hash_key, project_for_key

AUTHORIZATION_KEY = "authorization"
PROJECT_ID_KEY = "x-recallr-project-id"
_BEARER = "bearer "


def _missing(key: str) -> DomainError:
    return DomainError(
        Reason.AUTHENTICATION_REQUIRED,
        f"call metadata {key!r} is required",
        metadata={"missing": key},
    )


class Authenticator:
    """Maps (API key, project id) to the project the call may touch."""

    def __init__(self, db: Database, cache_seconds: float) -> None:
        self._db = db
        self._cache_seconds = cache_seconds
        # digest -> (project id, monotonic expiry); keys themselves are never held.
        self._cache: dict[str, tuple[str | None, float]] = {}

    async def authenticate(self, metadata: Sequence[tuple[str, str | bytes]]) -> str:
        values = {k.lower(): v for k, v in metadata if isinstance(v, str)}
        authorization = values.get(AUTHORIZATION_KEY, "")
        if not authorization.lower().startswith(_BEARER) or not authorization[len(_BEARER) :]:
            raise _missing(AUTHORIZATION_KEY)
        project_id = values.get(PROJECT_ID_KEY, "")
        if not project_id:
            raise _missing(PROJECT_ID_KEY)
        owner = await self._project_for(authorization[len(_BEARER) :].strip())
        if owner != project_id:
            # The same answer for unknown keys and foreign projects, so a key
            # cannot be used to probe which projects exist.
            raise DomainError(
                Reason.INVALID_API_KEY,
                "the API key does not open this project",
            )
        return project_id

    async def _project_for(self, api_key: str) -> str | None:
        digest = hash_key(api_key)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self._db.read() as session:
            owner = await project_for_key(session, api_key)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (owner, now + self._cache_seconds)
        return owner
