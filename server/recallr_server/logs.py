"""Structured (JSON lines) logging. Records carry ids, never keys or content."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_EXTRA_FIELDS = ("request_id", "rpc_method", "outcome")
_OWN_LOGGER = "recallr"
# How far other libraries may log, whatever RECALLR_LOG_LEVEL asks: below WARNING their
# records carry what callers sent. The SQL drivers write each statement with its
# parameters (message text, metadata, API-key digests): aiosqlite and psycopg at DEBUG,
# SQLAlchemy at INFO. HTTP clients write request URLs, which some model providers take
# keys in. Alembic's INFO names only the migrations it runs.
_LIBRARY_FLOOR = logging.WARNING
_LIBRARY_FLOORS = {"alembic": logging.INFO}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _EXTRA_FIELDS:
            if (value := getattr(record, field, None)) is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _library_floor(name: str) -> int:
    return _LIBRARY_FLOORS.get(name.partition(".")[0], _LIBRARY_FLOOR)


def _is_own(name: str) -> bool:
    return name == _OWN_LOGGER or name.startswith(_OWN_LOGGER + ".")


class LibraryFloor(logging.Filter):
    """Passes the server's own records, and other loggers' only from their floor up.

    Logger levels already hold libraries back (`configure`); this catches one that sets
    its own level lower, or a logger first named after `configure` ran.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return _is_own(record.name) or record.levelno >= _library_floor(record.name)


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LibraryFloor())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    own_level = logging.getLevelName(level)
    if not isinstance(own_level, int):
        raise ValueError(f"unknown log level {level!r}")
    logging.getLogger(_OWN_LOGGER).setLevel(own_level)
    root.setLevel(max(own_level, _LIBRARY_FLOOR))
    for name, floor in _LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(own_level, floor))
