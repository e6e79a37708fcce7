"""Which project an API key opens, with a short verification cache."""

from __future__ import annotations

import hashlib
import time

from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.ports import ApiKeys
from recallr_server.domain.validation import canonical_project_id

MAX_CACHED_KEYS = 10_000


def key_digest(api_key: str) -> str:
    """What is kept of a key, in the database and in memory alike: never the key itself.

    Keys carry 256 bits of entropy, so a fast digest is enough: there is nothing to
    brute-force that a slow KDF would protect.
    """
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


class Authenticator:
    """Maps (API key, project id) to the project the call may touch."""

    def __init__(self, keys: ApiKeys, cache_seconds: float) -> None:
        self._keys = keys
        self._cache_seconds = cache_seconds
        # digest -> (project id, monotonic expiry)
        self._cache: dict[str, tuple[str | None, float]] = {}

    async def authenticate(self, api_key: str, project_id: str) -> str:
        """The project's id as stored, when `api_key` opens the project `project_id` names."""
        project_id = canonical_project_id(project_id)
        if await self._project_for(api_key) != project_id:
            # The same answer for unknown keys and foreign projects, so a key
            # cannot be used to probe which projects exist.
            raise DomainError(
                Reason.INVALID_API_KEY,
                "the API key does not open this project",
            )
        return project_id

    async def _project_for(self, api_key: str) -> str | None:
        digest = key_digest(api_key)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        owner = await self._keys.project_for(api_key)
        if len(self._cache) > MAX_CACHED_KEYS:
            self._cache.clear()
        self._cache[digest] = (owner, now + self._cache_seconds)
        return owner
