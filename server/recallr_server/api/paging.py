"""AIP-158 pagination: page tokens bound to the query that issued them, and signed.

A token is the URL-safe base64 (unpadded) of a fixed layout: a format version byte, the
offset to resume at (8 bytes), the fingerprint of the query (12 bytes), then the first
16 bytes of an HMAC-SHA256 of those with the deployment's page-token secret (shared by
every replica: store/secrets.py). A token of any other length, or whose MAC does not
match, is refused before any of it is read, so a forged or corrupt token costs one
base64 decode and one HMAC of 21 bytes, and nothing in a token is ever parsed as a
nested structure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import Message

from recallr_server.domain.errors import DomainError, Reason
from recallr_server.domain.paging import Window
from recallr_server.domain.validation import MAX_PAGE_SIZE, Violations

# Bumped when the layout changes, so older tokens fail cleanly (version 1 was unsigned JSON).
TOKEN_VERSION = 2
# version, offset, query fingerprint
TOKEN_LAYOUT = struct.Struct(">BQ12s")
MAC_BYTES = 16
TOKEN_CHARS = len(base64.urlsafe_b64encode(bytes(TOKEN_LAYOUT.size + MAC_BYTES)).rstrip(b"="))
_PAGING_FIELDS = ("page_size", "page_token", "skip")
# An offset past this, plus an int32 skip, would overflow the database's 64-bit OFFSET; a
# genuine token never carries one (listings count in int32), a leaked secret might.
MAX_TOKEN_OFFSET = 2**31 - 1


class PagedRequest(Protocol):
    page_size: int
    page_token: str
    skip: int


def query_fingerprint(request: Message) -> bytes:
    """What a token is bound to: the request without its paging fields."""
    query = type(request)()
    query.CopyFrom(request)
    for name in _PAGING_FIELDS:
        query.ClearField(name)
    return hashlib.sha256(query.SerializeToString(deterministic=True)).digest()[:12]


def _invalid_token() -> DomainError:
    return DomainError(
        Reason.INVALID_PAGE_TOKEN,
        "page_token was not issued for this query",
        metadata={"field": "page_token"},
    )


class PageTokens:
    """Issues and checks the page tokens of one deployment, signed with its secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def page_of(self, request: Message, *, default_size: int) -> PageRequest:
        """Reads page_size, skip and page_token; the token's offset plus skip is the start."""
        paged: PagedRequest = request  # type: ignore[assignment]
        v = Violations()
        if paged.page_size < 0 or paged.page_size > MAX_PAGE_SIZE:
            v.add("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")
        if paged.skip < 0:
            v.add("skip", "must not be negative")
        v.raise_if_any()
        fingerprint = query_fingerprint(request)
        offset = self.open(paged.page_token, fingerprint) if paged.page_token else 0
        window = Window(offset + paged.skip, paged.page_size or default_size)
        return PageRequest(window, fingerprint, self)

    def seal(self, offset: int, fingerprint: bytes) -> str:
        """The token that resumes the query of `fingerprint` at `offset`."""
        body = TOKEN_LAYOUT.pack(TOKEN_VERSION, offset, fingerprint)
        return base64.urlsafe_b64encode(body + self._mac(body)).decode("ascii").rstrip("=")

    def open(self, token: str, fingerprint: bytes) -> int:
        """The offset `token` resumes at, if this deployment issued it for this query."""
        if len(token) != TOKEN_CHARS:
            raise _invalid_token()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:  # not ASCII, or not base64
            raise _invalid_token() from None
        body, mac = raw[: TOKEN_LAYOUT.size], raw[TOKEN_LAYOUT.size :]
        if len(mac) != MAC_BYTES or not hmac.compare_digest(mac, self._mac(body)):
            raise _invalid_token()
        version, offset, bound_to = TOKEN_LAYOUT.unpack(body)
        if version != TOKEN_VERSION or bound_to != fingerprint or offset > MAX_TOKEN_OFFSET:
            raise _invalid_token()
        return int(offset)

    def _mac(self, body: bytes) -> bytes:
        return hmac.digest(self._secret, body, "sha256")[:MAC_BYTES]


@dataclass(frozen=True)
class PageRequest:
    """The window a request asks for, and the query its tokens are bound to."""

    window: Window
    fingerprint: bytes
    tokens: PageTokens

    def next_token(self, total: int) -> str:
        end = self.window.offset + self.window.limit
        if end >= total:
            return ""
        return self.tokens.seal(end, self.fingerprint)
