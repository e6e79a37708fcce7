"""Which project an API key opens: a short verification cache, revocation, and a limit on
how fast one caller may present keys that open nothing.

Both transports (gRPC and HTTP) authenticate through `Authenticator`; each reads the
credentials and the caller's address its own way and passes them in.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.ports import ApiKeys
from recallr_server.domain.validation import canonical_project_id

MAX_CACHED_KEYS = 10_000
MAX_TRACKED_CALLERS = 10_000
DEFAULT_AUTH_FAILURES_PER_MINUTE = 60
# IPv6 hands a single host a /64: a caller is its network, not one of its addresses.
_IPV6_CALLER_PREFIX = 64

Clock = Callable[[], float]


def key_digest(api_key: str) -> str:
    """What is kept of a key, in the database and in memory alike: never the key itself.

    Keys carry 256 bits of entropy, so a fast digest is enough: there is nothing to
    brute-force that a slow KDF would protect.
    """
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def caller_of(address: str) -> str:
    """Whose allowance a call from `address` (an IP address, or whatever else the transport
    knows of its peer, such as a socket path) spends: an IPv4 address, an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, _IPV6_CALLER_PREFIX), strict=False))
    return str(ip)


def credential_missing(name: str, described: str) -> DomainError:
    """A call without credential `name` (`described` as its transport says it)."""
    return DomainError(
        Reason.AUTHENTICATION_REQUIRED, f"{described} is required", metadata={"missing": name}
    )


def credential_duplicated(name: str, described: str) -> DomainError:
    # Which copy a proxy or library keeps differs; the call must not mean two things.
    return DomainError(
        Reason.AUTHENTICATION_REQUIRED,
        f"{described} must be given once",
        metadata={"duplicated": name},
    )


@dataclass
class _Allowance:
    tokens: float
    updated: float


class FailedAuthLimit:
    """A token bucket per caller, spent by failed authentications.

    A caller may fail `per_minute` times in a row, then once more for every 60/`per_minute`
    seconds that pass; 0 turns the limit off. Callers whose bucket is full carry no state,
    so the table holds only those that failed lately (at most MAX_TRACKED_CALLERS; past
    that, the longest untouched are forgotten first).
    """

    def __init__(self, per_minute: int, clock: Clock = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60
        self._clock = clock
        self._callers: OrderedDict[str, _Allowance] = OrderedDict()

    def check(self, caller: str) -> None:
        """RATE_LIMITED, with the wait, when `caller` has no failure left to spend."""
        allowance = self._current(caller)
        if allowance is not None and allowance.tokens < 1:
            wait = math.ceil((1 - allowance.tokens) / self._per_second * 1000) / 1000
            raise DomainError(
                Reason.RATE_LIMITED,
                f"too many failed authentications from this caller; retry in {wait:g}s",
                metadata={"retry_after_seconds": f"{wait:g}"},
                retry_after_seconds=wait,
            )

    def failed(self, caller: str) -> None:
        if not self._capacity:
            return
        allowance = self._current(caller) or _Allowance(self._capacity, self._clock())
        allowance.tokens = max(allowance.tokens - 1, 0.0)
        self._callers[caller] = allowance
        self._callers.move_to_end(caller)
        while len(self._callers) > MAX_TRACKED_CALLERS:
            self._callers.popitem(last=False)

    def _current(self, caller: str) -> _Allowance | None:
        """The caller's refilled allowance; None (and forgotten) once it is whole again."""
        allowance = self._callers.get(caller)
        if allowance is None:
            return None
        now = self._clock()
        allowance.tokens += (now - allowance.updated) * self._per_second
        allowance.updated = now
        if allowance.tokens >= self._capacity:
            del self._callers[caller]
            return None
        return allowance


class Authenticator:
    """Maps (API key, project id) to the project the call may touch."""

    def __init__(
        self,
        keys: ApiKeys,
        cache_seconds: float,
        failures_per_minute: int = DEFAULT_AUTH_FAILURES_PER_MINUTE,
    ) -> None:
        self._keys = keys
        self._cache_seconds = cache_seconds
        # digest -> (project id, monotonic expiry)
        self._cache: dict[str, tuple[str | None, float]] = {}
        # Digests of keys that opened a project here: a caller spending its allowance on
        # keys that open nothing does not lock out the keys that work from its address.
        self._working: set[str] = set()
        self._limit = FailedAuthLimit(failures_per_minute)

    async def authenticate(self, api_key: str, project_id: str, caller: str) -> str:
        """The project's id as stored, when `api_key` opens the project `project_id` names.

        `caller` is who spends the allowance of failures (see `caller_of`); when it is
        spent, keys that have not worked here before are refused unread (RATE_LIMITED).
        """
        project_id = canonical_project_id(project_id)
        digest = key_digest(api_key)
        if digest not in self._working:
            self._limit.check(caller)
        owner = await self._project_for(api_key, digest)
        if owner is None:
            self._working.discard(digest)
        elif len(self._working) < MAX_CACHED_KEYS:
            self._working.add(digest)
        if owner != project_id:
            self._limit.failed(caller)
            # The same answer for unknown keys and foreign projects, so a key
            # cannot be used to probe which projects exist.
            raise DomainError(
                Reason.INVALID_API_KEY,
                "the API key does not open this project",
            )
        return project_id

    async def revoke(self, project_id: str, prefix: str) -> int:
        """Revokes the project's active keys that start with `prefix`; returns how many.

        They stop working here at once; other replicas notice within their cache time.
        """
        revoked = await self._keys.revoke(canonical_project_id(project_id), prefix)
        for digest in revoked:
            self._cache.pop(digest, None)
            self._working.discard(digest)
        return len(revoked)

    async def _project_for(self, api_key: str, digest: str) -> str | None:
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        owner = await self._keys.project_for(api_key)
        if len(self._cache) > MAX_CACHED_KEYS:
            self._cache.clear()
        self._cache[digest] = (owner, now + self._cache_seconds)
        return owner
