"""AIP-158 pagination: opaque page tokens bound to the query that issued them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import Message

from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.paging import Window
from recallr_server.domain.validation import MAX_PAGE_SIZE, Violations

# Bumped when the token format changes, so old tokens fail cleanly.
_TOKEN_VERSION = 1
_PAGING_FIELDS = ("page_size", "page_token", "skip")
# Clients can forge tokens (they are opaque, not signed); an offset past this,
# plus an int32 skip, would overflow the database's 64-bit OFFSET.
_MAX_TOKEN_OFFSET = 2**31 - 1


class PagedRequest(Protocol):
    page_size: int
    page_token: str
    skip: int


@dataclass(frozen=True)
class PageRequest:
    """The window a request asks for, and the query its tokens are bound to."""

    window: Window
    fingerprint: str

    def next_token(self, total: int) -> str:
        end = self.window.offset + self.window.limit
        if end >= total:
            return ""
        payload = json.dumps({"v": _TOKEN_VERSION, "o": end, "q": self.fingerprint})
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _fingerprint(request: Message) -> str:
    query = type(request)()
    query.CopyFrom(request)
    for name in _PAGING_FIELDS:
        query.ClearField(name)
    return hashlib.sha256(query.SerializeToString(deterministic=True)).hexdigest()[:24]


def _invalid_token() -> DomainError:
    return DomainError(
        Reason.INVALID_PAGE_TOKEN,
        "page_token was not issued for this query",
        metadata={"field": "page_token"},
    )


def page_of(request: Message, *, default_size: int) -> PageRequest:
    """Reads page_size, skip and page_token; the token's offset plus skip is the start."""
    paged: PagedRequest = request  # type: ignore[assignment]
    v = Violations()
    if paged.page_size < 0 or paged.page_size > MAX_PAGE_SIZE:
        v.add("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")
    if paged.skip < 0:
        v.add("skip", "must not be negative")
    v.raise_if_any()
    fingerprint = _fingerprint(request)
    offset = 0
    if paged.page_token:
        try:
            padded = paged.page_token + "=" * (-len(paged.page_token) % 4)
            token = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            valid = (
                isinstance(token, dict)
                and token.get("v") == _TOKEN_VERSION
                and token.get("q") == fingerprint
                and isinstance(token.get("o"), int)
                and 0 <= token["o"] <= _MAX_TOKEN_OFFSET
            )
        except (ValueError, binascii.Error, UnicodeEncodeError):
            valid = False
        if not valid:
            raise _invalid_token()
        offset = token["o"]
    return PageRequest(Window(offset + paged.skip, paged.page_size or default_size), fingerprint)
