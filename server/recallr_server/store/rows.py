"""The rows a transaction read, held until it ends, so records can be written back."""

from __future__ import annotations

from typing import Generic, TypeVar

from recallr_server.store import models
from recallr_server.store.database import Tx

Row = TypeVar("Row", bound=models.Base)


class ReadRows(Generic[Row]):
    """Rows of one model that a repository read, by primary key.

    The session's identity map holds rows weakly: once a repository has turned a row into
    a record, nothing refers to the row, and writing the record back would read it again.
    Held here, writing back changes the row the transaction read, and the ORM sends one
    UPDATE of the columns that changed, as when callers changed rows themselves.
    """

    def __init__(self, session: Tx, model: type[Row]) -> None:
        self._session = session
        self._model = model
        self._rows: dict[str, Row] = {}

    def keep(self, key: str, row: Row) -> Row:
        self._rows[key] = row
        return row

    async def get(self, key: str) -> Row:
        """The row read earlier in this transaction; read now if it was not."""
        row = self._rows.get(key)
        if row is None:
            row = self.keep(key, await self._session.get_one(self._model, key))
        return row
