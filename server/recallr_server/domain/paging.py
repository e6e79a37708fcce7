"""Pages of a listing: which slice is asked for, and what came back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """The slice of a listing a page covers: `limit` items from `offset`."""

    offset: int
    limit: int


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, and how many items the whole listing has."""

    items: list[T]
    total: int
