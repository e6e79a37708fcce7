"""``UNAVAILABLE``: what a field reads on an object built without a lookup."""

from __future__ import annotations

import enum
from typing import Final


class Unavailable(enum.Enum):
    """The type of ``UNAVAILABLE``.

    An enum with one member is the idiom that lets type checkers narrow
    ``value is UNAVAILABLE`` away.
    """

    UNAVAILABLE = "UNAVAILABLE"

    def __repr__(self) -> str:
        return "UNAVAILABLE"

    def __str__(self) -> str:
        return "UNAVAILABLE"


UNAVAILABLE: Final = Unavailable.UNAVAILABLE
"""What a field reads when the object was built without a lookup (``validate=False``)."""
