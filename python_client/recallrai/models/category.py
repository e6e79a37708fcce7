"""The project's memory vocabulary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Category:
    """One term of the project's memory vocabulary."""

    name: str
    description: str
