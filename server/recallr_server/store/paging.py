"""One page of rows: the total that matches, and the rows of the window, in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select

from recallr_server.domain.paging import Page, Window
from recallr_server.store import models
from recallr_server.store.database import Tx

Row = TypeVar("Row", bound=models.Base)
T = TypeVar("T")


async def fetch_page(
    session: Tx,
    model: type[Row],
    condition: ColumnElement[bool],
    order_by: Sequence[Any],
    window: Window,
    record: Callable[[Row], T],
) -> Page[T]:
    """The rows of `model` matching `condition`, counted, ordered and cut to `window`."""
    total = await session.scalar(select(func.count()).where(condition)) or 0
    rows = await session.scalars(
        select(model).where(condition).order_by(*order_by).offset(window.offset).limit(window.limit)
    )
    return Page([record(row) for row in rows], total)
